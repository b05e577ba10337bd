// Small helpers shared by the bench scripts.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";

/** A TCP port free on 127.0.0.1 at the moment of asking. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU time (user + system) a live process has used so far, in ms (Linux clock ticks are 10 ms). */
export function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The machine is shared: say how busy it was, since other work lowers and scatters the figures. */
export function describeLoad() {
  const [one] = os.loadavg();
  let pressure = "";
  try {
    pressure = `, CPU pressure avg10 ${/some avg10=([\d.]+)/.exec(fs.readFileSync("/proc/pressure/cpu", "utf8"))?.[1]}%`;
  } catch {
    // Not every kernel has pressure stall information.
  }
  return { busy: one > os.cpus().length * 0.5, text: `load average ${one.toFixed(2)} on ${os.cpus().length} cores${pressure}` };
}
