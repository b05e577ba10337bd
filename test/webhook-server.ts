import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedPost {
  path: string;
  contentType: string | undefined;
  body: string;
}

export interface WebhookServer {
  /** The URL to set as `webhookUrl`; other paths on the same server answer too. */
  url: string;
  origin: string;
  received: ReceivedPost[];
  /** How the next requests are answered: a status (and optional Location), or "hang" to never answer. */
  answer: { status: number; location?: string } | "hang";
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records what a webhook call sends. */
export async function startWebhookServer(): Promise<WebhookServer> {
  const hanging = new Set<http.ServerResponse>();
  const state: WebhookServer = {
    url: "",
    origin: "",
    received: [],
    answer: { status: 200 },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      state.received.push({ path: req.url ?? "", contentType: req.headers["content-type"], body });
      const answer = state.answer;
      if (answer === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;
  state.url = `${state.origin}/hooks/T000/B000/secret`;
  return state;
}
