/**
 * Where the authenticator app's JSON API lives (workers/routes/app-api.ts serves it, client/
 * calls it). Kept apart from app-api.ts so the browser bundle gets these strings without zod.
 */
export const APP_API_BASE = "/app/api";

/** Every call is a POST of a JSON body to APP_API_BASE + one of these. */
export const APP_API_PATHS = {
  activationRequest: "/activation-request",
  activationInfo: "/activation-info",
  registrationOptions: "/registration-options",
  activate: "/activate",
  claim: "/claim",
  pending: "/pending",
  challenge: "/challenge",
  answer: "/answer",
  device: "/device",
  devices: "/devices",
} as const;
export type AppApiPath = (typeof APP_API_PATHS)[keyof typeof APP_API_PATHS];

/**
 * The `k` of a push that carries a RADIUS SMS OTP (`o`: its challenge id, `code`, `x`: when it
 * expires, ms since epoch). Other pushes carry `c` (a sign-in challenge id) or `r`.
 */
export const SMS_OTP_PUSH_KIND = "otp";
