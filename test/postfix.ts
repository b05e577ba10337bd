import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort, waitForPort } from "./dovecot.js";

const run = promisify(execFile);

/** A private Postfix (Debian's postfix) that relays everything for one domain to a next hop on loopback, as an MX in front of Shield would. */
export interface Postfix {
  /** The port its smtpd listens on (127.0.0.1). */
  port: number;
  /** Sends with `smtp-source` (Postfix's test client) to this Postfix; resolves when it finished. */
  smtpSource(options: { messages: number; sessions: number; from: string; to: string; bytes?: number }): Promise<void>;
  /** Tries every deferred message again now (`postqueue -f`). */
  flush(): Promise<void>;
  /** Messages still in the queue. */
  queued(): Promise<number>;
  /** What each delivery attempt to the next hop came to, from the mail log: Postfix's queue id, the message's Message-ID, status (sent, deferred) and the reply. */
  deliveries(): Array<{ queueId: string; messageId: string; status: string; reply: string }>;
  /** The log as written so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}


const MASTER_CF = (port: number) =>
  [
    // service type private unpriv chroot wakeup maxproc command
    `127.0.0.1:${port} inet n - n - 100 smtpd`,
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "proxywrite unix - - n - 1 proxymap",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "local unix - n n - - local",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "postlog unix-dgram n - n - 1 postlogd",
    "",
  ].join("\n");

/**
 * Starts `postfix -c <own config directory>` with its queue, data and log under a
 * temporary directory, listening on a free loopback port, relaying mail for `domain`
 * (and only that) to `nextHop` (`127.0.0.1:PORT`) over plain SMTP with `connections`
 * parallel connections at most. Retries are quick (a deferred message is tried again
 * after a second or two), so a test can see the retry happen. No system service is
 * touched. Postfix runs its daemons as the `postfix` user, so it must be started as root.
 */
export async function startPostfix(options: { domain: string; nextHop: string; connections?: number }): Promise<Postfix> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-postfix-"));
  fs.chmodSync(dir, 0o755);
  const configDir = path.join(dir, "etc");
  fs.mkdirSync(configDir);
  const port = await freePort();
  const logFile = path.join(dir, "maillog");
  const connections = options.connections ?? 20;
  fs.writeFileSync(
    path.join(configDir, "main.cf"),
    [
      "compatibility_level = 3.6",
      `queue_directory = ${dir}/queue`,
      `data_directory = ${dir}/data`,
      "mail_owner = postfix",
      "setgid_group = postdrop",
      `maillog_file = ${logFile}`,
      `maillog_file_prefixes = ${dir}`,
      "inet_interfaces = 127.0.0.1",
      "inet_protocols = ipv4",
      `myhostname = mx.${options.domain}`,
      "mydestination =",
      `relay_domains = ${options.domain}`,
      `transport_maps = inline:{ ${options.domain}=smtp:[${options.nextHop.replace(/:(\d+)$/, "]:$1")} }`,
      "mynetworks = 127.0.0.0/8",
      "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
      "smtpd_recipient_restrictions =",
      "alias_maps =",
      "alias_database =",
      "local_recipient_maps =",
      "smtputf8_enable = no",
      "biff = no",
      "smtp_tls_security_level = none",
      "smtpd_tls_security_level = none",
      "disable_dns_lookups = yes",
      "smtp_dns_support_level = disabled",
      "smtpd_client_connection_count_limit = 0",
      "smtpd_client_connection_rate_limit = 0",
      "smtpd_client_message_rate_limit = 0",
      "smtpd_peername_lookup = no",
      `smtp_destination_concurrency_limit = ${connections}`,
      `default_destination_concurrency_limit = ${connections}`,
      "smtp_destination_rate_delay = 0",
      "smtp_connection_cache_on_demand = yes",
      "initial_destination_concurrency = 5",
      "minimal_backoff_time = 1s",
      "maximal_backoff_time = 2s",
      "queue_run_delay = 1s",
      "smtp_connect_timeout = 5s",
      "in_flow_delay = 0",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(path.join(configDir, "master.cf"), MASTER_CF(port));
  // Postfix makes the queue's own folders at start, with their owners and modes; the two roots must exist.
  fs.mkdirSync(path.join(dir, "queue"));
  fs.mkdirSync(path.join(dir, "data"));
  const { uid, gid } = postfixAccount();
  fs.chownSync(path.join(dir, "data"), uid, gid);
  const postfix = (args: string[]) => run("/usr/sbin/postfix", ["-c", configDir, ...args], { timeout: 60_000 });
  await postfix(["start"]).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`postfix did not start (its complaints go to the log, or to a terminal): ${error.stderr ?? error.message}\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""}`);
  });
  await waitForPort(port, 15_000, "Postfix");
  const readLog = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
  return {
    port,
    async smtpSource({ messages, sessions, from, to, bytes }) {
      await run("/usr/sbin/smtp-source", ["-s", String(sessions), "-m", String(messages), "-f", from, "-t", to, ...(bytes ? ["-l", String(bytes)] : []), "-M", "flood.example.net", `127.0.0.1:${port}`], { timeout: 600_000 });
    },
    async flush() {
      await run("/usr/sbin/postqueue", ["-c", configDir, "-f"]);
    },
    async queued() {
      const { stdout } = await run("/usr/sbin/postqueue", ["-c", configDir, "-j"], { maxBuffer: 64 * 1024 * 1024 });
      return stdout.split("\n").filter((line) => line.trim()).length;
    },
    deliveries() {
      const messageIds = new Map<string, string>();
      const out: Array<{ queueId: string; messageId: string; status: string; reply: string }> = [];
      for (const line of readLog().split("\n")) {
        const id = /postfix\/cleanup\[\d+\]: ([0-9A-F]+): message-id=(<[^>]*>)/.exec(line);
        if (id) messageIds.set(id[1]!, id[2]!);
        const m = /postfix\/smtp\[\d+\]: ([0-9A-F]+): to=<[^>]*>, relay=.*?, status=(\w+) \((.*)\)$/.exec(line);
        if (m) out.push({ queueId: m[1]!, messageId: messageIds.get(m[1]!) ?? "", status: m[2]!, reply: m[3]! });
      }
      return out;
    },
    log: readLog,
    async stop() {
      await postfix(["stop"]).catch(() => undefined);
      await postfix(["abort"]).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}


function postfixAccount(): { uid: number; gid: number } {
  const line = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postfix:"));
  if (!line) throw new Error("no postfix user: install Debian's postfix package");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether Postfix is installed (Debian's postfix package gives postfix and smtp-source). */
export function hasPostfix(): boolean {
  return ["/usr/sbin/postfix", "/usr/sbin/smtp-source"].every((file) => fs.existsSync(file));
}

