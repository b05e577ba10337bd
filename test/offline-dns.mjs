// Preloaded (`node --import`) into Shield processes that tests spawn: every DNS question
// (the SPF, DKIM and DMARC checks of received mail) is answered "no such name" at once,
// so a spawned Shield never touches the network.
import dns from "node:dns";

dns.promises.resolve = async (name) => {
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND", hostname: name });
};
