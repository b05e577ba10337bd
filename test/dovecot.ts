import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A private Dovecot IMAP server (Debian's dovecot-imapd) with one mailbox user, in its own temporary directory. */
export interface Dovecot {
  port: number;
  user: string;
  password: string;
  /** `imap://user:password@127.0.0.1:<port>/<mailbox>`, as `SHIELD_IMAP_URL` takes it. */
  urlOf(mailbox: string, query?: string): string;
  /** Runs `doveadm` against this server (as the mailbox user), e.g. to change a mailbox's UIDVALIDITY. */
  doveadm(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something listens on 127.0.0.1:`port`; `what` names it in the timeout's error. */
export async function waitForPort(port: number, timeoutMs: number, what = "Dovecot"): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts `dovecot -c <own config>` listening on a free loopback port, plain IMAP with
 * PLAIN/LOGIN authentication, Maildir under the temporary directory. No system service
 * is touched: its base, state and mail directories are all its own. Dovecot refuses to
 * run mail processes as root, so as root the mail belongs to `nobody`.
 */
export async function startDovecot(): Promise<Dovecot> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-dovecot-"));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const user = "security";
  const password = "imap-test-password";
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? 65534 : process.getuid!();
  const gid = asRoot ? 65534 : process.getgid!();
  for (const sub of ["run", "state", "mail"]) fs.mkdirSync(path.join(dir, sub));
  if (asRoot) fs.chownSync(path.join(dir, "mail"), uid, gid);
  fs.writeFileSync(path.join(dir, "passwd"), `${user}:{PLAIN}${password}\n`);
  const config = path.join(dir, "dovecot.conf");
  const ownUser = os.userInfo().username;
  fs.writeFileSync(
    config,
    [
      `base_dir = ${dir}/run`,
      `state_dir = ${dir}/state`,
      `log_path = ${dir}/dovecot.log`,
      "protocols = imap",
      "listen = 127.0.0.1",
      "ssl = no",
      "disable_plaintext_auth = no",
      "auth_mechanisms = plain login",
      `mail_location = maildir:${dir}/mail/%u`,
      `default_login_user = ${asRoot ? "dovenull" : ownUser}`,
      `default_internal_user = ${asRoot ? "dovecot" : ownUser}`,
      `default_internal_group = ${asRoot ? "dovecot" : ownUser}`,
      `mail_uid = ${uid}`,
      `mail_gid = ${gid}`,
      "first_valid_uid = 1",
      "passdb {",
      "  driver = passwd-file",
      `  args = scheme=PLAIN username_format=%u ${dir}/passwd`,
      "}",
      "userdb {",
      "  driver = static",
      `  args = uid=${uid} gid=${gid} home=${dir}/mail/%u`,
      "}",
      "service imap-login {",
      "  inet_listener imap {",
      "    address = 127.0.0.1",
      `    port = ${port}`,
      "  }",
      "  inet_listener imaps {",
      "    port = 0",
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  // The master forks into the background keeping no pipe of ours open, so its start is awaited by exit code.
  await new Promise<void>((resolve, reject) => {
    const child = spawn("dovecot", ["-c", config], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`dovecot exited with ${code}; see ${dir}/dovecot.log`))));
  });
  await waitForPort(port, 10_000);
  const pidFile = path.join(dir, "run", "master.pid");
  return {
    port,
    user,
    password,
    urlOf: (mailbox, query) => `imap://${user}:${password}@127.0.0.1:${port}/${encodeURIComponent(mailbox)}${query ? `?${query}` : ""}`,
    doveadm: async (args) => (await run("doveadm", ["-c", config, ...args])).stdout,
    async stop() {
      const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
