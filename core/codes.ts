import { CLOUD_STYLE_CODES, type MagicLinkCode } from "./contracts/magic-link.ts";
/** Result codes of the Mideye Magic Link API (server style): defined once, shared with the relay. */
export { RESULT_CODES, type ResultCode } from "./contracts/relay.ts";

/** Terminal states of a session; "pending" is the only non-terminal one. */
export type SessionStatus =
  | "pending"
  | "accepted"
  | "rejected"
  | "expired"
  | "failed_delivery"
  /** Assisted Login: the user accepted but picked no approver before the deadline. */
  | "no_approver_selected"
  /** Assisted Login: the picked approver is not in the list, is the user, or cannot be reached. */
  | "invalid_approver";
export type FinalStatus = Exclude<SessionStatus, "pending">;

/** The codes a session itself can end with (the last two only with Assisted Login). */
export type SessionResultCode =
  | "TOUCH_ACCEPTED"
  | "TOUCH_REJECTED"
  | "USER_NOT_RESPONDED"
  | "FAILED_DELIVERY"
  | "NO_APPROVER_SELECTED"
  | "INVALID_APPROVER";

export function codeForStatus(status: FinalStatus): SessionResultCode {
  switch (status) {
    case "accepted":
      return "TOUCH_ACCEPTED";
    case "rejected":
      return "TOUCH_REJECTED";
    case "expired":
      return "USER_NOT_RESPONDED";
    case "failed_delivery":
      return "FAILED_DELIVERY";
    case "no_approver_selected":
      return "NO_APPROVER_SELECTED";
    case "invalid_approver":
      return "INVALID_APPROVER";
  }
}

/**
 * Why a request got BAD_REQUEST. The body stays exactly {"code":"BAD_REQUEST"} for drop-in
 * compatibility (strict JSON clients reject unknown fields); the reason travels in a header.
 */
export type BadRequestReason =
  | "missing_api_key"
  | "invalid_api_key"
  | "expired_api_key"
  | "unknown_endpoint"
  | "invalid_msisdn"
  | "invalid_parameter"
  | "rate_limited"
  | "too_many_pending"
  | "overloaded"
  /** The endpoint holds its own share of pending sessions (its `maxPending`); others are unaffected. */
  | "endpoint_overloaded"
  /** The offline-code API on an endpoint that did not opt in (offlineCodes). */
  | "offline_codes_disabled";

export const BAD_REQUEST_STATUS: Record<BadRequestReason, 400 | 403 | 429 | 503> = {
  missing_api_key: 400,
  invalid_api_key: 400,
  expired_api_key: 400,
  unknown_endpoint: 400,
  invalid_msisdn: 400,
  invalid_parameter: 400,
  rate_limited: 429,
  too_many_pending: 429,
  overloaded: 503,
  endpoint_overloaded: 429,
  offline_codes_disabled: 403,
};

/**
 * The reason a caller is told. An unknown endpoint answers exactly like a wrong key, so
 * endpoint names cannot be enumerated without a key; logs and audit keep the real reason.
 */
export function callerReason(reason: BadRequestReason): BadRequestReason {
  return reason === "unknown_endpoint" ? "invalid_api_key" : reason;
}

/** A session's code in the endpoint's response style (Mideye cloud names for the three user outcomes). */
export function styledCode(code: SessionResultCode, style: "server" | "cloud"): MagicLinkCode {
  if (style === "cloud" && code in CLOUD_STYLE_CODES) return CLOUD_STYLE_CODES[code as keyof typeof CLOUD_STYLE_CODES];
  return code;
}
