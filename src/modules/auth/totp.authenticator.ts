import { generateSecret, generateURI, verify } from "otplib";

/**
 * TOTP as authenticator apps know it (RFC 6238: SHA-1, 6 digits, 30 s). A code is
 * accepted one step either side of now (clock drift, slow typing) and only if its step
 * is later than the last one accepted, so a code read over a shoulder cannot be replayed.
 */
const PERIOD_SECONDS = 30;

export function createTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, account: string, issuer: string): string {
  return generateURI({ issuer, label: account, secret });
}

/** The otpauth URI as a QR code, a PNG data URL for an `<img>` (the CSP allows `data:` images). */
export async function totpQrCode(uri: string): Promise<string> {
  // Imported when a code is drawn (setting up an authenticator), not at start (decision 0013).
  const { default: QRCode } = await import("qrcode");
  return QRCode.toDataURL(uri, { errorCorrectionLevel: "M", margin: 2, scale: 5 });
}

/** The step the code belongs to when it is valid now and newer than `afterStep`, else null. */
export async function checkTotpCode(secret: string, code: string, now: Date, afterStep: number | null): Promise<number | null> {
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: PERIOD_SECONDS,
    ...(afterStep == null ? {} : { afterTimeStep: afterStep }),
  });
  // otplib's result type covers HOTP too; a TOTP match always carries its time step.
  return result.valid && "timeStep" in result ? result.timeStep : null;
}

/** Secrets are shown in groups of four for typing them into an app by hand. */
export function groupSecret(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(" ") ?? secret;
}
