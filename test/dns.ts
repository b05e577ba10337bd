import type { DnsResolver } from "../src/platform/mail/inbound/mail-authentication.js";

/** DNS answers by `name TYPE` (lower-case name, upper-case type), e.g. `"example.org TXT": [["v=spf1 -all"]]`. */
export type DnsRecords = Record<string, unknown[]>;

/**
 * A resolver that answers from `records` and says ENOTFOUND to everything else, as
 * `dns.promises.resolve` would for a name that does not exist: tests never touch the network.
 */
export function fakeDnsResolver(records: DnsRecords): DnsResolver {
  return async (name, rrtype) => {
    const answer = records[`${name.toLowerCase().replace(/\.$/, "")} ${rrtype.toUpperCase()}`];
    if (answer) return answer;
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND", hostname: name });
  };
}
