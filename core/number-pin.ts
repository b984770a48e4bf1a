/**
 * The pinned-number rule for RADIUS users, pure (the D1 reads and writes are in
 * workers/store/relay-pins.ts, the flow in workers/domain/number-pins.ts).
 */
export type NumberChangePolicy = "confirm" | "accept-after-notice";

export interface PinState {
  msisdn: string;
  pending_msisdn: string | null;
  pending_at: number | null;
}

export type PinVerdict =
  /**
   * The number is the pinned one (or was just pinned). `withdrawsPending`: another number was
   * pending; the directory reports the pinned one again, so that report is stale and goes (else
   * it would keep ageing and could be applied later, under accept-after-notice, at once).
   */
  | { kind: "match"; withdrawsPending: boolean }
  /** accept-after-notice: this number has been pending for the whole notice period: apply it. */
  | { kind: "apply_pending" }
  /** Another number: refuse (number_changed), record it as pending, tell the pinned number. */
  | { kind: "mismatch" };

export function judgePin(pin: PinState, msisdn: string, now: number, policy: NumberChangePolicy, noticeMs: number): PinVerdict {
  if (pin.msisdn === msisdn) return { kind: "match", withdrawsPending: pin.pending_msisdn !== null };
  if (policy === "accept-after-notice" && pin.pending_msisdn === msisdn && pin.pending_at !== null && now - pin.pending_at >= noticeMs) {
    return { kind: "apply_pending" };
  }
  return { kind: "mismatch" };
}

/** At most one SMS notice per pin in this window, however many attempts: it cannot be used to spam. */
export const PIN_NOTICE_INTERVAL_MS = 24 * 3_600_000;

/** What was attempted with another number: the notice names it, so a reset is not reported as a sign-in. */
export type PinPurpose = "sign-in" | "password-reset";

export function pinNoticeText(username: string, newNumberMasked: string, purpose: PinPurpose = "sign-in"): string {
  const attempt = purpose === "password-reset" ? `a password reset for ${username}` : `a sign-in as ${username}`;
  return `Security notice: ${attempt} tried to use another phone number (${newNumberMasked}). It was refused. If this was not you, contact your help desk.`;
}
