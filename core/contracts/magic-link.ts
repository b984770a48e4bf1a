import { z } from "zod";
import { normalizeMsisdn } from "../msisdn.ts";
import { RESULT_CODES } from "./relay.ts";

/**
 * Query parameters of GET /api/sfwa/auth, names exactly as in the Mideye API. Unknown
 * parameters are ignored (clients may send extras); known ones are validated strictly.
 */
// Control characters other than tab/newline have no business in texts shown on a page or SMS.
const text = (max: number) =>
  z
    .string()
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point (refused in texts)
    .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), "control characters");

/** An MSISDN as clients send it, normalised to E.164 (see normalizeMsisdn). */
export const MsisdnSchema = z
  .string()
  .meta({ description: "The phone number, E.164 (+46701234567); national forms with a leading 0 are normalised", example: "+46701234567" })
  .transform((raw, ctx) => {
    const m = normalizeMsisdn(raw);
    if (!m) {
      ctx.addIssue({ code: "custom", message: "msisdn must be E.164, e.g. +46701234567" });
      return z.NEVER;
    }
    return m;
  });

export const AuthQuerySchema = z.object({
  msisdn: MsisdnSchema,
  "sms-text": text(300).optional(),
  "touch-timeout": z
    .string()
    .regex(/^\d{1,3}$/, "touch-timeout must be whole seconds")
    .transform(Number)
    .pipe(z.number().min(15).max(300))
    .optional(),
  "authentication-text": text(500).optional(),
  "touch-accept-text": text(500).optional(),
  "touch-reject-text": text(500).optional(),
  "button-accept-text": text(40).optional(),
  "button-reject-text": text(40).optional(),
  "title-text": text(100).optional(),
  /**
   * Extension (not in the Mideye API, so existing clients never send it): the two-digit
   * number the caller's login page shows for number matching. Without it the service picks
   * one and shows it on the SMS link page.
   */
  "match-number": z
    .string()
    .regex(/^[1-9]\d$/, "match-number must be 10-99")
    .transform(Number)
    .optional(),
});
export type AuthQuery = z.output<typeof AuthQuerySchema>;

/** Mideye cloud names for the three user outcomes (an endpoint's `responseStyle: "cloud"`); other codes read the same in both styles. */
export const CLOUD_STYLE_CODES = { TOUCH_ACCEPTED: "ACCEPT", TOUCH_REJECTED: "REJECT", USER_NOT_RESPONDED: "TIMEOUT" } as const;

/** What a finished call answers (HTTP 200): a session's result code, in the endpoint's response style. */
export const MagicLinkAnswerSchema = z
  .object({
    code: z.enum([...z.enum(RESULT_CODES).exclude(["BAD_REQUEST"]).options, ...Object.values(CLOUD_STYLE_CODES)]).meta({
      description:
        "Server style (the default): TOUCH_ACCEPTED, TOUCH_REJECTED, USER_NOT_RESPONDED; cloud style: ACCEPT, REJECT, TIMEOUT. " +
        "FAILED_DELIVERY in both; INVALID_APPROVER and NO_APPROVER_SELECTED only on Assisted Login endpoints.",
    }),
  })
  .meta({ id: "MagicLinkAnswer" });
export type MagicLinkCode = z.output<typeof MagicLinkAnswerSchema>["code"];

/**
 * Mideye's BAD_REQUEST: the body is exactly this (strict JSON clients reject unknown fields);
 * why is in the X-MFA-Reason header, the status says which kind (400, 403, 429, 503).
 */
export const BadRequestSchema = z.object({ code: z.literal("BAD_REQUEST") }).meta({ id: "BadRequest" });
