/**
 * What the reset page encrypts to the relay (and only the relay decrypts): the new password,
 * bound to the username and an expiry, as a compact JWE. The browser bundle imports this file,
 * so it stays zod-free; the relay validates the decrypted JSON against these fields.
 *
 * Algorithms: ECDH-ES (direct key agreement on P-256) with A256GCM. The relay accepts only
 * these, so no other algorithm can be slipped in through the JWE header.
 */
export const RESET_JWE_ALG = "ECDH-ES";
export const RESET_JWE_ENC = "A256GCM";

export interface ResetSecret {
  v: 1;
  /** The username the reset is for; the relay refuses a JWE whose username is not the request's. */
  u: string;
  /** The new password. */
  p: string;
  /** Expiry, epoch seconds: the reset step's deadline, so a captured JWE is useless later. */
  exp: number;
}

/** Longest password the page sends (the policy's own maximum is lower). */
export const RESET_PASSWORD_MAX = 512;
