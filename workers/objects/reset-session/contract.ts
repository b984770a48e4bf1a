/**
 * What callers of a ResetSession object get and give (workers/domain/password-reset.ts): one
 * object per visitor's reset, named by the SHA-256 of the token in their cookie. The stored
 * state is internal (state.ts).
 */

export interface ResetInit {
  endpoint: string;
  site: string;
  username: string;
  /** The whole reset ends then (username to new password). */
  expiresAt: number;
  /** The approval step (the user's phone and an approver) ends then, for every username alike. */
  approvalDeadline: number;
}

/**
 * What the background lookup found. `started`: a real user, reached through the AuthSession
 * named `authSession`; `silent`: nothing was sent (no such user, no usable or pinned number, a
 * refused start): the visitor sees the same waiting page until the approval deadline;
 * `unavailable`: the relay could not be asked (the same for any username).
 */
export type ResetAttach = { kind: "started"; authSession: string; msisdn: string } | { kind: "silent" } | { kind: "unavailable" };

export type ResetOverReason = "not_approved" | "expired" | "unavailable" | "failed";

export type ResetView =
  | { kind: "not_found" }
  /** Looking the user up, or waiting for the phone and the approver (unknown users too). */
  | { kind: "waiting"; endpoint: string; approvalDeadline: number }
  | { kind: "password"; endpoint: string; username: string; site: string; flow: string; expiresAt: number; message: string | null }
  /** A password was submitted and the relay has not answered yet. */
  | { kind: "changing"; endpoint: string }
  | { kind: "done"; endpoint: string }
  | { kind: "over"; endpoint: string; reason: ResetOverReason; message: string | null };

/** A password submission: the flow token must be the current one (single use). */
export type ResetClaim =
  | { kind: "claimed"; endpoint: string; site: string; username: string; expiresAt: number }
  | { kind: "refused" }
  | Extract<ResetView, { kind: "not_found" | "over" }>;

/** The relay's answer to the submission. */
export type ResetSettle = { changed: true } | { changed: false; retry: boolean; message: string };

export type ResetSettled =
  | { kind: "done"; endpoint: string; username: string; msisdn: string | null }
  | Extract<ResetView, { kind: "password" | "over" | "not_found" }>;
