import { z } from "zod";
import { MAX_SEED_BYTES, MIN_SEED_BYTES, isUsableSeedLength, seedFromBase32 } from "./otp.ts";

/**
 * A hardware token's base32 seed as an operator types or pastes it: spaces and lower case are
 * tolerated (seed sheets print groups), then it must be a seed the TOTP check can use (otplib
 * throws outside 16-64 bytes). Messages never repeat the seed.
 */
export const Base32SeedSchema = z
  .string()
  .transform((s) => s.replace(/\s+/g, "").toUpperCase())
  .pipe(
    z
      .string()
      .regex(/^[A-Z2-7]{1,128}=*$/, "the seed must be base32 (A-Z, 2-7)")
      .refine((s) => {
        try {
          return isUsableSeedLength(seedFromBase32(s).length);
        } catch {
          return false; // not a whole number of base32 groups
        }
      }, `the seed must decode to ${MIN_SEED_BYTES}-${MAX_SEED_BYTES} bytes (26-103 base32 characters)`),
  );
