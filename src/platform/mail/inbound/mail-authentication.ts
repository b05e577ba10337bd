/** Answers a DNS question as `dns.promises.resolve` does (TXT: arrays of strings); rejects with `code` ENOTFOUND/ENODATA when there is none. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

/** The verdicts of one message, each a word of RFC 8601 (`pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`, `permerror`) with what it was about. */
export interface MailAuthentication {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
  /** The Authentication-Results text, for the team to read in full. */
  summary: string;
}

export interface AuthenticateMailOptions {
  /** The connecting client's address (SMTP). Without it (IMAP), the latest `Received` header with an address is trusted for SPF. */
  ip?: string | null;
  /** The client's HELO/EHLO name. */
  helo?: string | null;
  /** The reverse path (MAIL FROM); null for the null sender. */
  mailFrom?: string | null;
  /** The name Shield gives itself in the results. */
  mta: string;
  resolver?: DnsResolver;
  /** A check that takes longer (DNS timeouts) is given up with `temperror`, never holding up the message for long. */
  timeoutMs?: number;
}

/**
 * SPF, DKIM, DMARC and ARC verdicts of a received message (mailauth). Information for
 * the team only: nothing here refuses a message, and a message that cannot be checked
 * (hostile bytes, DNS down, too slow) gets `temperror` verdicts saying why, never a throw.
 */
export async function authenticateMail(raw: Buffer, options: AuthenticateMailOptions): Promise<MailAuthentication> {
  // mailauth (with its ASN.1 and certificate libraries) is imported with the first message,
  // not when Shield starts (decision 0013), and before the clock of the checks starts.
  const { authenticate } = await import("mailauth");
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the checks took longer than ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    const result = await Promise.race([
      authenticate(raw, {
        ip: options.ip || undefined,
        helo: options.helo || undefined,
        sender: options.mailFrom ?? undefined,
        trustReceived: !options.ip,
        mta: options.mta,
        disableBimi: true,
        ...(options.resolver ? { resolver: options.resolver as never } : {}),
      }),
      timeout,
    ]);
    const spfResult = result.spf;
    const spf = !spfResult
      ? "none"
      : !spfResult["client-ip"]
        ? "none (no client address known)"
        : withWhat(spfResult.status.result, `${spfResult.domain}, client ${spfResult["client-ip"]}`);
    // An unsigned message gets one result "none" without a domain.
    const signatures = (result.dkim.results ?? []).filter((s) => s.signingDomain);
    const dkim = signatures.length === 0 ? "none (not signed)" : signatures.map((s) => withWhat(s.status.result, s.signingDomain)).join("; ");
    const dmarc = result.dmarc ? withWhat(result.dmarc.status.result, result.dmarc.domain) : "none";
    const arc = result.arc ? withWhat(result.arc.status.result, null) : "none";
    const summary = result.headers
      .split(/\r?\n(?=\S)/)
      .find((h) => /^Authentication-Results:/i.test(h))
      ?.replace(/^Authentication-Results:\s*/i, "")
      .replace(/\r?\n\s+/g, " ")
      .slice(0, 4000) ?? "";
    return { spf, dkim, dmarc, arc, summary };
  } catch (error) {
    const why = `temperror (${(error as Error).message.slice(0, 200)})`;
    return { spf: why, dkim: why, dmarc: why, arc: why, summary: `The message could not be checked: ${(error as Error).message.slice(0, 200)}` };
  } finally {
    clearTimeout(timer);
  }
}

function withWhat(result: string, what: string | null | undefined): string {
  const word = result === "temperr" ? "temperror" : result;
  return what ? `${word} (${what})` : word;
}
