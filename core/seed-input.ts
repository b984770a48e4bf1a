import { z } from "zod";
import { MAX_SEED_BYTES, MIN_SEED_BYTES, isUsableSeedLength, seedFromBase32 } from "./otp.ts";

/**
 * A base32 seed exactly as typed (upper case, no spaces) that the TOTP check can use (otplib
 * throws outside 16-64 bytes). `label` names the field in messages, which never repeat the seed.
 */
export function strictBase32Seed(label: string) {
  return z
    .string()
    .regex(/^[A-Z2-7]{1,128}=*$/, `${label} must be base32 (A-Z, 2-7)`)
    .refine((s) => {
      try {
        return isUsableSeedLength(seedFromBase32(s).length);
      } catch {
        return false; // not a whole number of base32 groups
      }
    }, `${label} must decode to ${MIN_SEED_BYTES}-${MAX_SEED_BYTES} bytes (26-103 base32 characters)`);
}

/**
 * A hardware token's base32 seed as an operator types or pastes it: spaces and lower case are
 * tolerated (seed sheets print groups), then it must be a seed the TOTP check can use.
 */
export const Base32SeedSchema = z
  .string()
  .transform((s) => s.replace(/\s+/g, "").toUpperCase())
  .pipe(strictBase32Seed("the seed"));
