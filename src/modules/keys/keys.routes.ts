import type { HttpApp } from "../../platform/http/app.js";
import type { SecurityTxtPublisher } from "./security-txt.service.js";
import type { TeamKeyring } from "./team-key.service.js";

export interface KeyRouteDeps {
  keyring: TeamKeyring;
  securityTxt: SecurityTxtPublisher;
}

/** The published team key and the signed security.txt (RFC 9116) that points to it. */
export function registerKeyRoutes(app: HttpApp, deps: KeyRouteDeps): void {
  app.get("/security/pgp-key.asc", { schema: { hide: true } }, async (_request, reply) => {
    const key = await deps.keyring.current();
    return reply
      .type("application/pgp-keys")
      .header("content-disposition", `inline; filename="pgp-key.asc"`)
      .header("cache-control", "public, max-age=300")
      .send(key.publicKey);
  });

  app.get("/.well-known/security.txt", { schema: { hide: true } }, async (_request, reply) => {
    return reply.type("text/plain; charset=utf-8").header("cache-control", "public, max-age=3600").send(await deps.securityTxt.signedText());
  });

  // RFC 9116 §3: the file lives under /.well-known/; the legacy location only points there.
  app.get("/security.txt", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/.well-known/security.txt", 301));
}
