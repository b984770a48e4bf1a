import { z } from "zod";

/**
 * The second factor a client or user gets: Mideye's names, or its RADIUS type numbers 6/7/8
 * (Touch, Touch-Plus, Touch-Mobile). Shared by the UDP and RadSec client entries and `users`.
 */
export const SecondFactorSchema = z
  .union([z.enum(["touch", "touch-plus", "touch-mobile", "sms", "totp"]), z.literal(6), z.literal(7), z.literal(8)])
  .transform((v) => (v === 6 ? "touch" : v === 7 ? "touch-plus" : v === 8 ? "touch-mobile" : v));
export type SecondFactor = z.output<typeof SecondFactorSchema>;

/**
 * Where TOTP codes are checked: "edge" (tokens enrolled at the edge), "local" (the relay's own
 * token store: no internet needed), "both" (local when the user has a local token, else edge).
 * Set at the top level, per client and per user (user wins over client over top level).
 */
export const TotpSourceSchema = z.enum(["edge", "local", "both"]);
export type TotpSource = z.infer<typeof TotpSourceSchema>;
