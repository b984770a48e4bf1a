import { z } from "zod";
import { MsisdnSchema } from "./magic-link.ts";
import { CHALLENGE_PATTERN } from "./relay.ts";

/**
 * The offline-code API (workers/routes/offline-api.ts), for RADIUS servers of your own:
 * POST /api/offline/{totp,challenge-response}[/{endpoint}] with an endpoint's API key.
 * Unknown fields are ignored; a body that does not fit is Mideye's BAD_REQUEST.
 */
export const OFFLINE_API_BASE = "/api/offline";

/** A TOTP code from the number's authenticator app (or on-prem token). */
export const OfflineTotpSchema = z.object({ msisdn: MsisdnSchema, code: z.string().max(16).meta({ example: "123456" }) });

/** The app's offline signature of a challenge the caller showed the user. */
export const OfflineChallengeResponseSchema = z.object({
  msisdn: MsisdnSchema,
  challenge: z.string().regex(CHALLENGE_PATTERN).meta({ example: "482913" }),
  code: z.string().max(16).meta({ example: "12345678" }),
});

/** Every check that got past the key answers 200 with this (an error is `false`, never a 500). */
export const OfflineAnswerSchema = z.object({ valid: z.boolean() }).meta({ id: "OfflineAnswer" });
