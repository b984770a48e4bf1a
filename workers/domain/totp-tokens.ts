import { generateSecret, generateURI } from "otplib";
import { seedKeyFromEnv } from "../config/app-secrets";
import { maskMsisdn } from "../../core/msisdn";
import { seedFromBase32 } from "../../core/otp";
import { sealSeed, totpTokenContext } from "../../core/seed-crypto";
import { auditAdmin } from "../store/audit";
import { objectStub } from "../lib/durable-objects";

/**
 * On-prem TOTP tokens, enrolled by an operator for a number: the seed is sealed here with the
 * deployment's seed key (bound to the number) and kept by the number's Subscriber object.
 * Changes held by a Durable Object cannot join a D1 transaction: their audit row is written
 * right after the object confirmed the change.
 */

/**
 * Enrolls a token: a new seed is generated (or an existing hardware token's base32 seed
 * imported). The seed is returned once, with an otpauth:// URI for authenticator apps; it
 * cannot be read back later.
 */
export async function enrollTotpToken(
  env: Env,
  actor: string,
  msisdn: string,
  imported?: string,
): Promise<{ secret: string; uri: string }> {
  const secret = imported ?? generateSecret();
  await objectStub(env, "SUBSCRIBER", msisdn).setTotpToken(
    await sealSeed(seedKeyFromEnv(env), seedFromBase32(secret), totpTokenContext(msisdn)),
  );
  await auditAdmin(env.DB, { actor, action: "totp.enroll", msisdn: maskMsisdn(msisdn) });
  return { secret, uri: generateURI({ issuer: "Edge MFA", label: msisdn, secret }) };
}

/** False when no token was enrolled. */
export async function removeTotpToken(env: Env, actor: string, msisdn: string): Promise<boolean> {
  if (!(await objectStub(env, "SUBSCRIBER", msisdn).removeTotpToken())) return false;
  await auditAdmin(env.DB, { actor, action: "totp.remove", msisdn: maskMsisdn(msisdn) });
  return true;
}
