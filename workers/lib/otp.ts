import { verify } from "otplib";

/** A numeric one-time code from the CSPRNG, without modulo bias. */
export function randomDigits(length = 6): string {
  let out = "";
  while (out.length < length) {
    const [b] = crypto.getRandomValues(new Uint8Array(1));
    if (b! < 250) out += String(b! % 10);
  }
  return out;
}

export interface TotpCheck {
  valid: boolean;
  /** RFC 6238 time step that matched; store it so the same code cannot be used twice. */
  timeStep?: number;
}

/**
 * RFC 6238 TOTP (30 s, 6 digits, SHA-1 as authenticator apps expect), one step of clock
 * drift either way, and replay protection: steps at or before `afterTimeStep` are refused.
 */
export async function verifyTotpCode(secret: string, code: string, afterTimeStep?: number): Promise<TotpCheck> {
  if (!/^\d{6}$/.test(code)) return { valid: false };
  const r = await verify({ secret, token: code, epochTolerance: 30, ...(afterTimeStep !== undefined ? { afterTimeStep } : {}) });
  // The functional API's result type is a union over HOTP and TOTP; TOTP results carry timeStep.
  return r.valid ? { valid: true, timeStep: (r as { timeStep: number }).timeStep } : { valid: false };
}
