// The bare baseline of bench/flood.bench.js: this process sends COUNT receipt-sized mails
// through nodemailer's pooled SMTP transport to SMTP_URL, one after another as a worker
// would, with no database, and prints the CPU milliseconds it used per mail as JSON.
import nodemailer from "nodemailer";

const count = Number(process.env.COUNT ?? "1000");
const transport = nodemailer.createTransport(`${process.env.SMTP_URL}?pool=true`);
const text = `Hello Ada Researcher,\n\n${"Thank you for your report. We have received it. ".repeat(8)}\n\nhttps://security.example.test/security/reports/${"x".repeat(43)}\n`;
const started = process.cpuUsage();
const wall = performance.now();
for (let i = 0; i < count; i++) {
  await transport.sendMail({ from: "security@example.com", to: `ada${i}@example.org`, subject: `Baseline ${i}: we received your report`, text });
}
const used = process.cpuUsage(started);
transport.close();
process.stdout.write(`${JSON.stringify({ count, cpuMsPerMail: (used.user + used.system) / 1000 / count, mailsPerSecond: count / ((performance.now() - wall) / 1000) })}\n`);
