/**
 * Number matching on every channel (pure). When a session uses number matching, an Accept
 * counts only with the right pick, wherever it is given:
 *
 * - the caller shows the number on its login page (`match-number`): the app and the SMS link
 *   page both offer three numbers as the Accept buttons ("pick");
 * - the service picked the number: only the SMS link page shows it, so that page must not
 *   accept (a one-tap Accept there would make the number pointless); it shows the number and
 *   offers Reject, and the Accept happens in the app with the pick ("show");
 * - no number matching: plain Accept / Reject ("none").
 *
 * A session whose service-picked number no app can be asked to match (no device, no push
 * subscription, the push service says the device is gone) cannot match it anywhere: it
 * becomes a plain SMS session (see withoutApp).
 */
export interface MatchSetup {
  /** The number to pick, null: no number matching in this session. */
  matchNumber: number | null;
  /** The three numbers offered, the right one among them. */
  choices: number[] | null;
  /** The caller's login page shows the number (`match-number`); else only the link page does. */
  callerShowsNumber: boolean;
}

export type LinkPageMatch =
  | { kind: "none" }
  | { kind: "pick"; choices: number[] }
  | { kind: "show"; number: number }
  /** An Accept counts only in the app, with user verification: the page offers Reject alone. */
  | { kind: "in_app" };

/**
 * What the SMS link page offers. `acceptInApp`: the endpoint wants user verification and the
 * number's app can give it, so a one-tap Accept on the page would be the way around it (the
 * page of a service-picked number offers no Accept anyway, and keeps showing the number).
 */
export function linkPageMatch(m: MatchSetup, acceptInApp = false): LinkPageMatch {
  if (m.matchNumber !== null && !(m.callerShowsNumber && m.choices)) return { kind: "show", number: m.matchNumber };
  if (acceptInApp) return { kind: "in_app" };
  if (m.matchNumber === null) return { kind: "none" };
  return { kind: "pick", choices: m.choices ?? [] };
}

/** Whether the channel may take an Accept at all ("show" and "in_app" pages may only reject). */
export function acceptOffered(page: LinkPageMatch): boolean {
  return page.kind !== "show" && page.kind !== "in_app";
}

export interface AnswerVerdict {
  status: "accepted" | "rejected";
  /** An Accept that did not count: wrong pick, no pick, or on a page that offers none. */
  mismatch: boolean;
}

/**
 * Whether an answer counts. `expected` null: no number to match. A Reject is always a
 * rejection; an Accept that does not count is one too (someone may be fishing for a blind
 * approval), so the sign-in ends TOUCH_REJECTED. `channelAccepts` false: this channel offers
 * no Accept (acceptOffered), whatever the number.
 */
export function judgeAnswer(
  expected: number | null,
  decision: "accept" | "reject",
  pick: number | undefined,
  channelAccepts = true,
): AnswerVerdict {
  if (decision === "reject") return { status: "rejected", mismatch: false };
  if (!channelAccepts) return { status: "rejected", mismatch: true };
  if (expected === null) return { status: "accepted", mismatch: false };
  const counts = pick === expected;
  return { status: counts ? "accepted" : "rejected", mismatch: !counts };
}

/**
 * The session could not ask an app: a number only the link page shows has nothing to be
 * matched against, so the session continues as a plain SMS session (the caller decides
 * what to log). A number the caller shows is still matched, on the link page.
 */
export function withoutApp(m: MatchSetup): MatchSetup {
  return m.matchNumber !== null && !m.callerShowsNumber ? { ...m, matchNumber: null, choices: null } : m;
}
