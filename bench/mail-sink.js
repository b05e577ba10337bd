// The bare baseline of bench/mail.bench.js: an smtp-server on PORT (127.0.0.1) that takes
// every message, writes its raw bytes to a file of its own under DIR and fsyncs it, and
// only then answers 250 — the least a durable MX does. Prints "ready" when listening.
import fs from "node:fs";
import path from "node:path";
import { SMTPServer } from "smtp-server";

const dir = process.env.DIR;
let seq = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["AUTH", "STARTTLS"],
  disableReverseLookup: true,
  logger: false,
  size: 25 * 1024 * 1024,
  onData(stream, _session, callback) {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => {
      const file = path.join(dir, `${++seq}.eml`);
      fs.open(file, "w", (error, fd) => {
        if (error) return callback(error);
        fs.write(fd, Buffer.concat(chunks), (error) => {
          if (error) return fs.close(fd, () => callback(error));
          fs.fsync(fd, (error) => fs.close(fd, () => callback(error ?? undefined)));
        });
      });
    });
  },
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
