/**
 * Definitions the edge (workers/) and the on-prem relay (relay/) must agree on, kept in one
 * place both import. Pure TypeScript: no Node, Workers or DOM APIs, so it runs on either side.
 */

/** An E.164 phone number, "+" and 7-15 digits. The one copy of this pattern. */
export const E164 = /^\+[1-9]\d{6,14}$/;

/** Result codes of the Mideye Magic Link API (server style), which the relay's Touch call returns too. */
export const RESULT_CODES = [
  "TOUCH_ACCEPTED",
  "TOUCH_REJECTED",
  "USER_NOT_RESPONDED",
  "FAILED_DELIVERY",
  "BAD_REQUEST",
  "INVALID_APPROVER",
  "NO_APPROVER_SELECTED",
] as const;
export type ResultCode = (typeof RESULT_CODES)[number];

/**
 * A RADIUS username as the directory compares it: surrounding whitespace trimmed and
 * case-folded (LDAP and AD match uid / sAMAccountName case-insensitively), so "SVC-Backup "
 * and "svc-backup" are one user for the relay's `users` map and for the edge's number pins.
 * `DOMAIN\user` and `user@realm` are NOT rewritten: they are other keys than `user` (have the
 * NAS strip realms if users type them).
 */
export function normalizeUsername(raw: string): string {
  return raw.trim().toLowerCase();
}
/** Usernames longer than this are refused on both sides (RADIUS User-Name is at most 253 bytes). */
export const USERNAME_MAX = 253;

/**
 * The one answer of the relay API that means "the edge is temporarily unavailable": HTTP 503
 * with exactly this `error`. Only this (and transport failures) lets a relay apply its fail
 * mode; every other non-2xx is a refusal and rejects the login.
 */
export const EDGE_UNAVAILABLE_STATUS = 503;
export const EDGE_UNAVAILABLE_ERROR = "edge_unavailable";

/**
 * How much longer than the Touch timeout the relay waits for the edge's answer (delivery and
 * network on top of the user's time). Past it the relay counts the edge as unavailable, so
 * the edge must have answered by then (workers/lib/wait-retry.ts).
 */
export const TOUCH_ANSWER_SLACK_MS = 15_000;

/**
 * The relay API's refusal when the directory reports another number than the one pinned for
 * the user (HTTP 409, body {"error": NUMBER_CHANGED}).
 */
export const NUMBER_CHANGED = "number_changed";

/**
 * A challenge-response challenge ("phone not reachable, please sign 482913"): what the relay
 * shows, the app signs and the edge checks (core/otp.ts).
 */
export const CHALLENGE_PATTERN = /^[0-9A-Za-z]{4,16}$/;
