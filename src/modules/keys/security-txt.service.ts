import { signCleartext } from "../../platform/crypto/openpgp.js";
import type { Clock } from "../../shared/clock.js";
import type { Settings } from "../settings/index.js";
import { composeSecurityTxt, securityTxtExpiry } from "./keys.js";
import type { TeamKeyring } from "./team-key.service.js";

export interface SecurityTxtDeps {
  keyring: TeamKeyring;
  settings: { get(): Promise<Settings> };
  baseUrl: () => string;
  clock: Clock;
  /** How long one signed copy is served. Its Expires then lies between (lifetime - cacheMs) and lifetime ahead. */
  cacheMs?: number;
}

/**
 * `/.well-known/security.txt`, cleartext-signed with the team key. Signing on every
 * request would let anyone make the server do public-key work at will, so one signed
 * copy is served for up to an hour, and re-signed sooner when the contact address,
 * the public URL or the team key changes.
 */
export class SecurityTxtPublisher {
  private cached: { basis: string; signedAt: number; text: string } | undefined;
  private signing: Promise<string> | undefined;

  constructor(private readonly deps: SecurityTxtDeps) {}

  async signedText(): Promise<string> {
    const [key, settings] = await Promise.all([this.deps.keyring.current(), this.deps.settings.get()]);
    const baseUrl = this.deps.baseUrl();
    const basis = JSON.stringify([key.fingerprint, settings.securityEmail, baseUrl]);
    const now = this.deps.clock.now().getTime();
    const cacheMs = this.deps.cacheMs ?? 3600_000;
    const cached = this.cached;
    if (cached && cached.basis === basis && now >= cached.signedAt && now - cached.signedAt < cacheMs) return cached.text;
    this.signing ??= this.sign(basis, settings.securityEmail, baseUrl).finally(() => {
      this.signing = undefined;
    });
    return this.signing;
  }

  private async sign(basis: string, securityEmail: string, baseUrl: string): Promise<string> {
    const now = this.deps.clock.now();
    const body = composeSecurityTxt({ securityEmail, baseUrl, expires: securityTxtExpiry(now) });
    const text = await signCleartext(body, await this.deps.keyring.signingKey(), now);
    this.cached = { basis, signedAt: now.getTime(), text };
    return text;
  }
}
