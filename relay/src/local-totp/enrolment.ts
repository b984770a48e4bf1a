import { randomBytes } from "node:crypto";
import { generateURI } from "otplib";
import { renderUnicodeCompact } from "uqr";
import { seedToBase32, type TotpParams } from "../../../core/otp.ts";
import type { NewToken } from "./token-record.ts";

/**
 * A new token for an authenticator app, and what the operator shows the user once: the
 * otpauth:// URI, as text and as a QR code for the terminal.
 */
/** RFC 4226 asks for 160 bits for SHA-1; HMAC keys as long as the hash's output otherwise. */
const SEED_BYTES: Record<TotpParams["algorithm"], number> = { sha1: 20, sha256: 32, sha512: 64 };

export function newToken(username: string, params: TotpParams): NewToken {
  return { username, seed: Uint8Array.from(randomBytes(SEED_BYTES[params.algorithm])), params, origin: "enrolled" };
}

export function enrolmentSheet(token: NewToken, issuer: string): { secret: string; uri: string; qr: string } {
  const secret = seedToBase32(token.seed);
  const uri = generateURI({ issuer, label: token.username, secret, ...token.params });
  return { secret, uri, qr: renderUnicodeCompact(uri, { ecc: "M" }) };
}
