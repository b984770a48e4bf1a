import type { ResultCode } from "../../core/contracts/relay.ts";

/**
 * What each result code of a Touch becomes over RADIUS. A Record over every ResultCode, so a
 * code added at the edge is a compile error here until it has a reply (before, Assisted
 * Login's two codes fell through and produced no reply at all).
 */
export type TouchOutcome =
  | { kind: "reply"; code: "Access-Accept" | "Access-Reject"; reason: string; replyMessage?: string }
  /** The phone could not be reached: the method's fallback (type 7/8) decides. */
  | { kind: "fallback" };

export const TOUCH_REPLIES: Record<ResultCode, TouchOutcome> = {
  TOUCH_ACCEPTED: { kind: "reply", code: "Access-Accept", reason: "touch accepted" },
  TOUCH_REJECTED: { kind: "reply", code: "Access-Reject", reason: "touch rejected", replyMessage: "Login rejected on your phone" },
  USER_NOT_RESPONDED: { kind: "reply", code: "Access-Reject", reason: "touch timed out", replyMessage: "No answer from your phone" },
  BAD_REQUEST: {
    kind: "reply",
    code: "Access-Reject",
    reason: "edge refused (rate limit or overload)",
    replyMessage: "Login not possible right now, try again later",
  },
  FAILED_DELIVERY: { kind: "fallback" },
  INVALID_APPROVER: {
    kind: "reply",
    code: "Access-Reject",
    reason: "touch: invalid approver",
    replyMessage: "The approver could not be asked",
  },
  NO_APPROVER_SELECTED: {
    kind: "reply",
    code: "Access-Reject",
    reason: "touch: no approver selected",
    replyMessage: "No approver was selected",
  },
};
