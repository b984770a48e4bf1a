// The session's transition table, pure: every phase x event, its new state, effects and next wake.
import { describe, expect, it } from "vitest";
import type { AnswerClaims } from "../../../core/contracts/app-api";
import { DEFAULT_TEXTS } from "../../../workers/config/schema";
import type { SessionInit } from "../../../workers/objects/auth-session/contract";
import type { Effect, Step } from "../../../workers/objects/session/effects";
import { type Pending, type SessionState, approverOf, fromStored } from "../../../workers/objects/session/state";
import * as t from "../../../workers/objects/session/transitions";
import {
  ACCEPT_IN_APP_ONLY,
  APPROVER_ACCEPTED,
  APPROVER_REJECTED,
  NUMBER_MISMATCH,
  approverView,
  linkPageView,
} from "../../../workers/objects/session/views";

const NOW = 1_700_000_000_000;
const TIMEOUT = 60_000;
const TOMBSTONE = 600_000;
const GRACE = 5_000;
const USER = "+46701234567";
const APPROVERS = [
  { id: "a1", name: "Alice", msisdn: "+46700000011" },
  { id: "a2", name: "Bob", msisdn: "+46700000022" },
  { id: "me", name: "Myself", msisdn: USER },
];
const SECRETS = { token: "approver-token", hash: "approver-hash", csrf: "approver-csrf" };
const SMS = { text: "Approve: https://mfa.test/m/tok", link: "https://mfa.test/m/tok" };
const CHALLENGE = { challengeId: "chal" };
/** The user's (or approver's) device that fetches and answers. */
const DEVICE = { id: "dev", name: "Phone", uv: false };

interface Options {
  push?: boolean;
  matchNumber?: number | null;
  callerShowsNumber?: boolean;
  assisted?: boolean;
  /** The endpoint's appApproval: user verification (uvFallback refuse). */
  uv?: boolean;
}

function init(options: Options = {}): SessionInit {
  return {
    name: "session-name",
    msisdn: USER,
    endpoint: "ep",
    texts: DEFAULT_TEXTS,
    smsText: SMS.text,
    link: SMS.link,
    timeoutMs: TIMEOUT,
    tombstoneMs: TOMBSTONE,
    leaseShard: "shard-1",
    app: {
      activation: false,
      push: options.push ? { graceMs: GRACE } : null,
      matchNumber: options.matchNumber ?? null,
      callerShowsNumber: options.callerShowsNumber ?? false,
      ...(options.uv ? { approval: { approval: "user-verification" as const, fallback: "refuse" as const } } : {}),
    },
    assisted: options.assisted ? { approvers: APPROVERS, linkBase: "https://mfa.test" } : null,
  };
}

function session(options: Options = {}): Pending {
  const choices = options.matchNumber ? [17, options.matchNumber, 88] : null;
  return t.create(init(options), NOW, { csrf: "csrf", choices });
}

function pending(state: SessionState): Pending {
  if (state.status !== "pending") throw new Error(`expected a pending session, got ${state.status}`);
  return state;
}

/** An Assisted Login session whose user accepted on the link page. */
function choosing(options: Options = {}): Pending {
  return pending(t.decide(session({ ...options, assisted: true }), { decision: "accept", csrfValid: true }, NOW).state);
}

/** ... and picked Alice. */
function approverAsked(options: Options = {}): Pending {
  const state = choosing(options);
  return pending(t.chooseApprover(state, { approverId: "a1", csrfValid: true }, SECRETS, NOW).state);
}

const kinds = (effects: Effect[]) => effects.map((effect) => effect.kind);
const claims = (over: Partial<AnswerClaims> = {}): AnswerClaims => ({
  typ: "edge-mfa/answer",
  c: "chal",
  n: "nonce",
  d: "accept",
  ...over,
});
const fresh = { nonce: "next-nonce", approverLink: SECRETS };

function expectFinished(step: Step<unknown>, status: string, at = NOW, answeredBy?: { deviceId: string; name: string }) {
  expect(step.state).toEqual({
    ...(answeredBy ? { answeredBy } : {}),
    status,
    createdAt: NOW,
    expiresAt: NOW + TIMEOUT,
    purgeAt: at + TOMBSTONE,
    tombstoneMs: TOMBSTONE,
    endpoint: "ep",
    leaseShard: "shard-1",
    name: "session-name",
    channel: expect.any(String),
  });
  expect(t.nextWake(step.state)).toBe(at + TOMBSTONE);
  // The lease goes to a waiting call with the outcome, if one takes it (run-effects.ts).
  expect(step.effects).toContainEqual({ kind: "notify_waiters", status, leaseShard: "shard-1" });
}

describe("start and delivery", () => {
  it("a new session waits for its expiry, SMS first", () => {
    const state = session();
    expect(state).toMatchObject({ status: "pending", channel: "sms", smsDue: null, purgeAt: null, csrf: "csrf" });
    expect(t.nextWake(state)).toBe(NOW + TIMEOUT);
  });

  it("without a push the SMS link goes now and its failure ends the session as failed_delivery", () => {
    const step = t.userPushed(session({ push: true }), null, SMS, NOW);
    expect(step.effects).toEqual([
      { kind: "send_sms", sms: { to: USER, ...SMS }, onFailure: { event: "delivery_failed", finish: "failed_delivery" } },
    ]);
    expect(pending(step.state).push).toBeUndefined();
  });

  it("no app for a service-picked number: number matching is off (logged)", () => {
    const step = t.userPushed(session({ matchNumber: 42 }), null, SMS, NOW);
    expect(pending(step.state)).toMatchObject({ matchNumber: null, choices: undefined });
    expect(kinds(step.effects)).toEqual(["log", "send_sms"]);
  });

  it("a failed push keeps the challenge (and the number), and sends the SMS link now", () => {
    const step = t.userPushed(
      session({ push: true, matchNumber: 42 }),
      { challenge: CHALLENGE, delivered: false, userVerifying: false },
      SMS,
      NOW,
    );
    expect(pending(step.state)).toMatchObject({ matchNumber: 42, push: { challengeId: "chal", nonces: {} }, channel: "sms" });
    expect(kinds(step.effects)).toEqual(["send_sms"]);
  });

  it("a delivered push owes the SMS link after the grace period, and the alarm wakes for it", () => {
    const step = t.userPushed(session({ push: true }), { challenge: CHALLENGE, delivered: true, userVerifying: false }, SMS, NOW);
    expect(pending(step.state)).toMatchObject({ channel: "push", smsDue: { at: NOW + GRACE, ...SMS } });
    expect(pending(step.state).smsDue?.to).toBeUndefined();
    expect(step.effects).toEqual([]);
    expect(t.nextWake(step.state)).toBe(NOW + GRACE);
  });

  it("a service-picked number is shown only on the link page: push and SMS both go now", () => {
    const step = t.userPushed(
      session({ push: true, matchNumber: 42 }),
      { challenge: CHALLENGE, delivered: true, userVerifying: false },
      SMS,
      NOW,
    );
    expect(pending(step.state)).toMatchObject({ channel: "push+sms", smsDue: null });
    expect(step.effects).toEqual([{ kind: "send_sms", sms: { to: USER, ...SMS }, onFailure: { event: "delivery_failed", finish: null } }]);
  });
});

describe("user verification asked for: the SMS link cannot accept where the app can verify", () => {
  const pushedTo = (userVerifying: boolean, delivered = true) => ({ challenge: CHALLENGE, delivered, userVerifying });
  const pageOf = (state: Pending) => {
    const view = linkPageView(state);
    if (view.kind !== "pending") throw new Error(view.kind);
    return view.match;
  };

  it("pushed to a device that verifies its user: the page offers Reject alone, and an Accept posted anyway rejects", () => {
    for (const delivered of [true, false]) {
      const state = pending(t.userPushed(session({ push: true, uv: true }), pushedTo(true, delivered), SMS, NOW).state);
      expect(state.acceptInApp).toBe(true);
      expect(pageOf(state)).toEqual({ kind: "in_app" });
      const step = t.decide(state, { decision: "accept", csrfValid: true }, NOW);
      expect(step.result).toMatchObject({ kind: "decided", status: "rejected", text: ACCEPT_IN_APP_ONLY });
      expect(step.state.status).toBe("rejected");
      expect(step.effects).toContainEqual(expect.objectContaining({ kind: "log", event: "accept_not_in_app" }));
      expect(t.decide(state, { decision: "reject", csrfValid: true }, NOW).result).toMatchObject({ status: "rejected" });
    }
  });

  it("a service-picked number stays shown (no Accept either); a tapping policy, a device without it or no app keep the Accept", () => {
    const shown = pending(t.userPushed(session({ push: true, uv: true, matchNumber: 42 }), pushedTo(true), SMS, NOW).state);
    expect(pageOf(shown)).toEqual({ kind: "show", number: 42 });
    const picked = pending(
      t.userPushed(session({ push: true, uv: true, matchNumber: 42, callerShowsNumber: true }), pushedTo(true), SMS, NOW).state,
    );
    expect(pageOf(picked)).toEqual({ kind: "in_app" });
    for (const state of [
      pending(t.userPushed(session({ push: true }), pushedTo(true), SMS, NOW).state),
      pending(t.userPushed(session({ push: true, uv: true }), pushedTo(false), SMS, NOW).state),
      pending(t.userPushed(session({ push: true, uv: true }), null, SMS, NOW).state),
    ]) {
      expect(state.acceptInApp).toBeUndefined();
      expect(pageOf(state)).toEqual({ kind: "none" });
      expect(t.decide(state, { decision: "accept", csrfValid: true }, NOW).result).toMatchObject({ status: "accepted" });
    }
  });
});

describe("user verification asked for: the approver's SMS link cannot accept either", () => {
  it("an approver pushed on a device that verifies: their link offers Reject alone, and an Accept there rejects", () => {
    const pushed = { challenge: CHALLENGE, delivered: true, userVerifying: true };
    const sms = { to: "+46700000011", ...SMS };
    const asked = pending(t.approverPushed(approverAsked({ push: true, uv: true }), pushed, sms, NOW).state);
    const approver = approverOf(asked)!.approver;
    expect(approver.acceptInApp).toBe(true);
    expect(approverView(asked, approver)).toMatchObject({ kind: "approver", acceptInApp: true });
    const step = t.approverDecide(asked, { decision: "accept", linkValid: true, csrfValid: true }, NOW);
    expect(step.result).toMatchObject({ kind: "decided", status: "rejected" });
    expect(step.effects).toContainEqual(expect.objectContaining({ kind: "log", event: "accept_not_in_app" }));
    // A tapping policy, or an approver's app that cannot verify, keeps the link's Accept.
    for (const state of [
      pending(t.approverPushed(approverAsked({ push: true }), pushed, sms, NOW).state),
      pending(t.approverPushed(approverAsked({ push: true, uv: true }), { ...pushed, userVerifying: false }, sms, NOW).state),
    ]) {
      expect(approverView(state, approverOf(state)!.approver).acceptInApp).toBe(false);
      expect(t.approverDecide(state, { decision: "accept", linkValid: true, csrfValid: true }, NOW).result).toMatchObject({
        status: "accepted",
      });
    }
  });
});

describe("the user's answer on the link page", () => {
  it("a wrong CSRF token changes nothing", () => {
    const state = session();
    const step = t.decide(state, { decision: "accept", csrfValid: false }, NOW);
    expect(step).toEqual({ state, effects: [], result: { kind: "forbidden" } });
  });

  it("Accept and Reject end the session, leaving a tombstone, and release lease and entry", () => {
    const accepted = t.decide(session(), { decision: "accept", csrfValid: true }, NOW + 1);
    expectFinished(accepted, "accepted", NOW + 1);
    expect(accepted.result).toEqual({ kind: "decided", status: "accepted", text: DEFAULT_TEXTS.touchAccept });
    expect(accepted.effects).toEqual([
      { kind: "notify_waiters", status: "accepted", leaseShard: "shard-1" },
      { kind: "release", session: "session-name", leaseShard: "shard-1", msisdns: [USER] },
    ]);
    const rejected = t.decide(session(), { decision: "reject", csrfValid: true }, NOW);
    expect(rejected.result).toEqual({ kind: "decided", status: "rejected", text: DEFAULT_TEXTS.touchReject });
  });

  it("a session started on a lease taken over from an earlier one hands over and releases that lease, kept in its tombstone", () => {
    const state = t.create({ ...init(), leaseId: "earlier-session" }, NOW, { csrf: "csrf", choices: null });
    expect(state.leaseId).toBe("earlier-session");
    const step = t.decide(state, { decision: "accept", csrfValid: true }, NOW + 1);
    expect(step.state).toMatchObject({ leaseShard: "shard-1", leaseId: "earlier-session" });
    expect(step.effects).toEqual([
      { kind: "notify_waiters", status: "accepted", leaseShard: "shard-1", leaseId: "earlier-session" },
      { kind: "release", session: "session-name", leaseShard: "shard-1", leaseId: "earlier-session", msisdns: [USER] },
    ]);
  });

  it("the caller shows the number: only the right pick accepts; a wrong one rejects (logged)", () => {
    const state = session({ matchNumber: 42, callerShowsNumber: true });
    expect(t.decide(state, { decision: "accept", pick: 42, csrfValid: true }, NOW).result).toMatchObject({ status: "accepted" });
    const wrong = t.decide(state, { decision: "accept", pick: 17, csrfValid: true }, NOW);
    expect(wrong.result).toEqual({ kind: "decided", status: "rejected", text: NUMBER_MISMATCH });
    expect(kinds(wrong.effects)).toEqual(["log", "notify_waiters", "release"]);
  });

  it("a service-picked number: the link page takes no Accept, even with the right pick", () => {
    const step = t.decide(session({ matchNumber: 42 }), { decision: "accept", pick: 42, csrfValid: true }, NOW);
    expect(step.result).toMatchObject({ status: "rejected", text: NUMBER_MISMATCH });
  });

  it("Assisted Login: the Accept leads to the approver list (not the user's own number); a repeat changes nothing", () => {
    const step = t.decide(session({ assisted: true }), { decision: "accept", csrfValid: true }, NOW);
    expect(pending(step.state).assisted?.phase).toBe("choose_approver");
    expect(step.effects).toEqual([]);
    const list = {
      kind: "choose_approver",
      title: DEFAULT_TEXTS.title,
      csrf: "csrf",
      approvers: [
        { id: "a1", name: "Alice" },
        { id: "a2", name: "Bob" },
      ],
    };
    expect(step.result).toEqual(list);
    const again = t.decide(pending(step.state), { decision: "reject", csrfValid: true }, NOW);
    expect(again).toEqual({ state: step.state, effects: [], result: list });
  });

  it("Assisted Login: a Reject ends the session at once", () => {
    expectFinished(t.decide(session({ assisted: true }), { decision: "reject", csrfValid: true }, NOW), "rejected");
  });
});

describe("Assisted Login: the approver", () => {
  it("the pick is refused before the user's Accept or with a wrong CSRF token", () => {
    const user = session({ assisted: true });
    expect(t.chooseApprover(user, { approverId: "a1", csrfValid: true }, SECRETS, NOW).result).toEqual({ kind: "forbidden" });
    expect(t.chooseApprover(choosing(), { approverId: "a1", csrfValid: false }, SECRETS, NOW).result).toEqual({ kind: "forbidden" });
    expect(t.chooseApprover(session(), { approverId: "a1", csrfValid: true }, SECRETS, NOW).result).toEqual({ kind: "forbidden" });
  });

  it("a valid pick stores approver_pending before the approver is asked with their own link", () => {
    const step = t.chooseApprover(choosing(), { approverId: "a1", csrfValid: true }, SECRETS, NOW);
    const approver = { name: "Alice", msisdn: "+46700000011", link: "approver-hash", csrf: "approver-csrf" };
    expect(pending(step.state)).toMatchObject({ smsDue: null, assisted: { phase: "approver_pending", approver } });
    expect(step.result).toEqual({ kind: "asked", title: DEFAULT_TEXTS.title, approverName: "Alice" });
    expect(step.effects).toEqual([
      {
        kind: "ask_approver",
        alias: { target: "session-name", self: "approver-hash", purgeAt: NOW + TIMEOUT + TOMBSTONE },
        sms: {
          to: "+46700000011",
          text: `${DEFAULT_TEXTS.title}: +467******67 asks you to approve a sign-in.\nhttps://mfa.test/m/approver-token`,
          link: "https://mfa.test/m/approver-token",
        },
      },
    ]);
    expect(JSON.stringify(step.state)).not.toContain("approver-token");
  });

  it("the user's pushed challenge is closed once they picked", () => {
    const pushed = pending(
      t.userPushed(choosing({ push: true }), { challenge: CHALLENGE, delivered: true, userVerifying: false }, SMS, NOW).state,
    );
    const step = t.chooseApprover(pushed, { approverId: "a2", csrfValid: true }, SECRETS, NOW);
    expect(step.effects[0]).toEqual({ kind: "close_challenge", msisdn: USER, session: "session-name" });
    expect(kinds(step.effects)).toEqual(["close_challenge", "ask_approver"]);
  });

  it("an id not offered, or the user's own entry, ends the session as invalid_approver (logged)", () => {
    for (const [approverId, reason] of [
      ["forged", "unknown_id"],
      ["me", "self"],
    ] as const) {
      const step = t.chooseApprover(choosing(), { approverId, csrfValid: true }, SECRETS, NOW);
      expectFinished(step, "invalid_approver");
      expect(step.result).toEqual({ kind: "finished", status: "invalid_approver" });
      expect(step.effects[0]).toEqual({ kind: "log", level: "warn", event: "invalid_approver", fields: { endpoint: "ep", reason } });
    }
  });

  it("a second pick while the approver is asked only shows who was asked", () => {
    const state = approverAsked();
    expect(t.chooseApprover(state, { approverId: "a2", csrfValid: true }, SECRETS, NOW)).toEqual({
      state,
      effects: [],
      result: { kind: "approver_pending", title: DEFAULT_TEXTS.title, approverName: "Alice" },
    });
  });

  it("approver push delivered: their SMS link is owed after the grace period", () => {
    const sms = { to: "+46700000011", ...SMS };
    const step = t.approverPushed(approverAsked({ push: true }), { challenge: CHALLENGE, delivered: true, userVerifying: false }, sms, NOW);
    expect(pending(step.state)).toMatchObject({
      smsDue: { at: NOW + GRACE, ...sms },
      assisted: { approver: { push: { challengeId: "chal", nonces: {} } } },
    });
    expect(step.effects).toEqual([]);
    expect(t.nextWake(step.state)).toBe(NOW + GRACE);
  });

  it("approver without push (or a failed push): the SMS link now; if it fails, invalid_approver", () => {
    const sms = { to: "+46700000011", ...SMS };
    const onFailure = { event: "approver_delivery_failed", finish: "invalid_approver" };
    for (const pushed of [null, { challenge: CHALLENGE, delivered: false, userVerifying: false }]) {
      const step = t.approverPushed(approverAsked({ push: true }), pushed, sms, NOW);
      expect(pending(step.state).smsDue).toBeNull();
      expect(step.effects).toEqual([{ kind: "send_sms", sms, onFailure }]);
    }
  });

  it("the approver's link page answer decides; a wrong link or CSRF token changes nothing", () => {
    const state = approverAsked();
    expect(t.approverDecide(state, { decision: "accept", linkValid: false, csrfValid: true }, NOW)).toEqual({
      state,
      effects: [],
      result: { kind: "not_found" },
    });
    expect(t.approverDecide(state, { decision: "accept", linkValid: true, csrfValid: false }, NOW).result).toEqual({ kind: "forbidden" });
    const step = t.approverDecide(state, { decision: "accept", linkValid: true, csrfValid: true }, NOW);
    expectFinished(step, "accepted");
    expect(step.result).toEqual({ kind: "decided", status: "accepted", text: APPROVER_ACCEPTED });
    expect(step.effects).toContainEqual({
      kind: "release",
      session: "session-name",
      leaseShard: "shard-1",
      msisdns: [USER, "+46700000011"],
    });
    expect(JSON.stringify(step.state)).not.toContain("Alice");
  });

  it("no approver is asked yet: an approver answer finds nothing", () => {
    expect(t.approverDecide(choosing(), { decision: "accept", linkValid: true, csrfValid: true }, NOW).result).toEqual({
      kind: "not_found",
    });
  });
});

describe("the app's answer", () => {
  /** A session whose user's app holds the challenge with the nonce of its last details fetch. */
  function withApp(options: Options = {}): Pending {
    const pushed = pending(
      t.userPushed(session({ push: true, ...options }), { challenge: CHALLENGE, delivered: true, userVerifying: false }, SMS, NOW).state,
    );
    const step = t.issueNonce(pushed, "user", DEVICE, "nonce");
    expect(step.result).toMatchObject({ kind: "pending", role: "user", nonce: "nonce", step: "answer" });
    return pending(step.state);
  }
  const answer = (state: Pending, over: Partial<AnswerClaims> = {}, nonceValid = true, role: "user" | "approver" | null = "user") =>
    t.appDecide(state, { role, nonceValid, claims: claims(over), device: DEVICE, uv: "missing" }, fresh, NOW);

  it("an unknown challenge or a stale nonce changes nothing", () => {
    const state = withApp();
    expect(answer(state, {}, true, null)).toEqual({ state, effects: [], result: { kind: "not_found" } });
    expect(answer(state, {}, false)).toEqual({ state, effects: [], result: { kind: "stale_nonce" } });
  });

  it("a signed Accept or Reject decides", () => {
    const accepted = answer(withApp());
    expectFinished(accepted, "accepted", NOW, { deviceId: "dev", name: "Phone" });
    expect(accepted.result).toEqual({ kind: "decided", status: "accepted", numberMismatch: false, text: DEFAULT_TEXTS.touchAccept });
    expect(answer(withApp(), { d: "reject" }).result).toMatchObject({ status: "rejected", numberMismatch: false });
  });

  it("number matching: the right pick accepts, a wrong or missing one is a rejection", () => {
    expect(answer(withApp({ matchNumber: 42 }), { m: 42 }).result).toMatchObject({ status: "accepted" });
    for (const m of [17, undefined]) {
      expect(answer(withApp({ matchNumber: 42 }), { m }).result).toEqual({
        kind: "decided",
        status: "rejected",
        numberMismatch: true,
        text: NUMBER_MISMATCH,
      });
    }
  });

  it("Assisted Login: the user's Accept without a pick asks for one under a fresh nonce; the owed SMS is dropped", () => {
    const step = answer(withApp({ assisted: true }));
    const state = pending(step.state);
    expect(state).toMatchObject({ smsDue: null, push: { nonces: { dev: "next-nonce" } }, assisted: { phase: "choose_approver" } });
    expect(step.result).toEqual({
      kind: "choose_approver",
      title: DEFAULT_TEXTS.title,
      approvers: [
        { id: "a1", name: "Alice" },
        { id: "a2", name: "Bob" },
      ],
      nonce: "next-nonce",
    });
    expect(t.nextWake(state)).toBe(NOW + TIMEOUT);
    // The pick comes in the next signed answer; no number is matched any more.
    const picked = t.appDecide(
      state,
      { role: "user", nonceValid: true, claims: claims({ a: "a2" }), device: DEVICE, uv: "missing" },
      fresh,
      NOW,
    );
    expect(picked.result).toEqual({ kind: "asked", approverName: "Bob" });
    expect(kinds(picked.effects)).toEqual(["close_challenge", "ask_approver"]);
  });

  it("Assisted Login: Accept and pick in one answer; then the user's part is done and only the approver's app decides", () => {
    const step = answer(withApp({ assisted: true }), { a: "a1" });
    const state = pending(step.state);
    expect(state).toMatchObject({ push: { nonces: {} }, assisted: { phase: "approver_pending", approver: { name: "Alice" } } });
    const again = t.appDecide(state, { role: "user", nonceValid: true, claims: claims(), device: DEVICE, uv: "missing" }, fresh, NOW);
    expect(again.result).toEqual({ kind: "not_found" });
    const approverApp = pending(
      t.approverPushed(
        state,
        { challenge: { challengeId: "c2" }, delivered: true, userVerifying: false },
        { to: "+46700000011", ...SMS },
        NOW,
      ).state,
    );
    const view = t.issueNonce(approverApp, "approver", DEVICE, "approver-nonce");
    expect(view.result).toMatchObject({
      role: "approver",
      step: "answer",
      text: "+467******67 asks you to approve a sign-in.",
      choices: null,
    });
    const rejected = t.appDecide(
      pending(view.state),
      { role: "approver", nonceValid: true, claims: claims({ d: "reject" }), device: DEVICE, uv: "missing" },
      fresh,
      NOW,
    );
    expectFinished(rejected, "rejected", NOW, { deviceId: "dev", name: "Phone" });
    expect(rejected.result).toEqual({ kind: "decided", status: "rejected", numberMismatch: false, text: APPROVER_REJECTED });
  });

  it("Assisted Login: a pick of the user's own entry in the app is invalid_approver", () => {
    const step = answer(withApp({ assisted: true }), { a: "me" });
    expectFinished(step, "invalid_approver");
    expect(step.result).toEqual({ kind: "finished", status: "invalid_approver" });
  });
});

describe("the single alarm", () => {
  const pushed = () =>
    pending(t.userPushed(session({ push: true }), { challenge: CHALLENGE, delivered: true, userVerifying: false }, SMS, NOW).state);

  it("an early wake changes nothing", () => {
    const state = pushed();
    expect(t.wake(state, NOW + GRACE - 1)).toEqual({ state, effects: [] });
  });

  it("the owed SMS: cleared before it is sent (a retried alarm sends nothing), then the expiry", () => {
    const woken = t.wake(pushed(), NOW + GRACE);
    const state = pending(woken.state ?? session());
    expect(state).toMatchObject({ smsDue: null, channel: "push+sms" });
    expect(woken.effects).toEqual([
      { kind: "log", level: "info", event: "push_grace_elapsed", fields: { endpoint: "ep", role: "user" } },
      { kind: "send_sms", sms: { to: USER, ...SMS }, onFailure: { event: "delivery_failed", finish: null } },
    ]);
    expect(t.nextWake(state)).toBe(NOW + TIMEOUT);
    expect(t.wake(state, NOW + GRACE + 1)).toEqual({ state, effects: [] });
    const expired = t.wake(state, NOW + TIMEOUT);
    expect(expired.state).toMatchObject({ status: "expired", purgeAt: NOW + TIMEOUT + TOMBSTONE });
    expect(kinds(expired.effects)).toEqual(["notify_waiters", "release"]);
  });

  it("the approver's owed SMS goes to the approver and keeps the channel", () => {
    const sms = { to: "+46700000011", ...SMS };
    const asked = pending(
      t.approverPushed(approverAsked({ push: true }), { challenge: CHALLENGE, delivered: true, userVerifying: false }, sms, NOW).state,
    );
    const woken = t.wake(asked, NOW + GRACE);
    expect(woken.state).toMatchObject({ smsDue: null, channel: "sms" });
    expect(woken.effects[1]).toEqual({ kind: "send_sms", sms, onFailure: { event: "delivery_failed", finish: null } });
  });

  it("expiry in each phase: NO_APPROVER_SELECTED only after the user's Accept without a pick", () => {
    const at = NOW + TIMEOUT;
    expect(t.wake(session(), at).state?.status).toBe("expired");
    expect(t.wake(session({ assisted: true }), at).state?.status).toBe("expired");
    expect(t.wake(choosing(), at).state?.status).toBe("no_approver_selected");
    expect(t.expire(choosing(), at).result).toBe("no_approver_selected");
    const approverPending = t.expire(approverAsked(), at);
    expectFinished(approverPending, "expired", at);
    expect(approverPending.effects).toContainEqual({
      kind: "release",
      session: "session-name",
      leaseShard: "shard-1",
      msisdns: [USER, "+46700000011"],
    });
  });

  it("the tombstone stays until its purge time, then is deleted", () => {
    const finished = t.decide(session(), { decision: "accept", csrfValid: true }, NOW).state;
    expect(t.wake(finished, NOW + TOMBSTONE - 1)).toEqual({ state: finished, effects: [] });
    expect(t.wake(finished, NOW + TOMBSTONE)).toEqual({ state: null, effects: [] });
  });

  it("finish keeps only the tombstone and wakes for its purge", () => {
    const finished = t.finish(session(), "accepted", NOW);
    expect(finished.state.status).toBe("accepted");
    expect(t.nextWake(finished.state)).toBe(NOW + TOMBSTONE);
  });
});

describe("stored state", () => {
  it("a state stored by the previous release loads (no smsDue yet, optional fields missing)", () => {
    const { smsDue: _smsDue, ...older } = session({ push: true });
    const loaded = fromStored(older as unknown as SessionState);
    expect(loaded).toMatchObject({ status: "pending", smsDue: null });
    expect(t.nextWake(loaded)).toBe(NOW + TIMEOUT);
    const asked = approverAsked();
    expect(fromStored(JSON.parse(JSON.stringify(asked)))).toEqual({ ...asked, choices: undefined });
  });
});

describe("Assisted Login: an approver who is the requester under another number", () => {
  /** Carol signs in (or resets) as "carol" from USER; she is also an approver, listed under her desk phone. */
  const CAROL_DESK = { id: "carol-desk", name: "Carol (desk)", msisdn: "+46700000033", usernames: ["carol"] };
  const WITH_CAROL = [...APPROVERS.slice(0, 2), CAROL_DESK];
  const OFFERED = [
    { id: "a1", name: "Alice" },
    { id: "a2", name: "Bob" },
  ];

  function carolSession(requesterUsernames?: string[], push = false): Pending {
    const base = init({ assisted: true, push });
    const assisted = { approvers: WITH_CAROL, linkBase: "https://mfa.test", ...(requesterUsernames ? { requesterUsernames } : {}) };
    return t.create({ ...base, assisted }, NOW, { csrf: "csrf", choices: null });
  }
  const accept = (state: Pending) => t.decide(state, { decision: "accept", csrfValid: true }, NOW);
  const pick = (state: Pending, approverId: string) => t.chooseApprover(state, { approverId, csrfValid: true }, SECRETS, NOW);

  it("is not offered, and picked anyway (an id posted by hand) ends the session as invalid_approver (self)", () => {
    const accepted = accept(carolSession(["carol"]));
    expect(accepted.result).toEqual({ kind: "choose_approver", title: DEFAULT_TEXTS.title, csrf: "csrf", approvers: OFFERED });
    const step = pick(pending(accepted.state), "carol-desk");
    expectFinished(step, "invalid_approver");
    expect(step.effects[0]).toEqual({ kind: "log", level: "warn", event: "invalid_approver", fields: { endpoint: "ep", reason: "self" } });
    expect(kinds(step.effects)).not.toContain("ask_approver");
  });

  it("another approver still works; a requester with another name may pick Carol", () => {
    expect(pick(pending(accept(carolSession(["carol"])).state), "a1").result).toMatchObject({ kind: "asked", approverName: "Alice" });
    const dave = accept(carolSession(["dave"]));
    expect(dave.result).toMatchObject({ approvers: [...OFFERED, { id: "carol-desk", name: "Carol (desk)" }] });
    expect(pick(pending(dave.state), "carol-desk").result).toMatchObject({ kind: "asked", approverName: "Carol (desk)" });
  });

  it("any of the requester's names (as typed, as the directory has it) against any of the approver's", () => {
    const state = pending(accept(carolSession(["carol@example.com", "carol"])).state);
    expect(pick(state, "carol-desk").result).toEqual({ kind: "finished", status: "invalid_approver" });
  });

  it("in the app too: the list leaves her out and a signed pick of her ends invalid_approver", () => {
    const pushed = pending(
      t.userPushed(carolSession(["carol"], true), { challenge: CHALLENGE, delivered: true, userVerifying: false }, SMS, NOW).state,
    );
    const fetched = pending(t.issueNonce(pushed, "user", DEVICE, "nonce").state);
    const answer = (state: Pending, a?: string) =>
      t.appDecide(state, { role: "user", nonceValid: true, claims: claims(a ? { a } : {}), device: DEVICE, uv: "missing" }, fresh, NOW);
    const choosingStep = answer(fetched);
    expect(choosingStep.result).toMatchObject({ kind: "choose_approver", approvers: OFFERED });
    expect(t.issueNonce(pending(choosingStep.state), "user", DEVICE, "n").result).toMatchObject({ approvers: OFFERED });
    expect(answer(pending(choosingStep.state), "carol-desk").result).toEqual({ kind: "finished", status: "invalid_approver" });
    // Accept and pick in one answer: the requester's names survive the step to choose_approver.
    expect(answer(fetched, "carol-desk").result).toEqual({ kind: "finished", status: "invalid_approver" });
  });

  it("without the requester's name (the Magic Link API; a session stored before the field) only the number rule applies", () => {
    const unnamed = accept(carolSession());
    expect(unnamed.result).toMatchObject({ approvers: [...OFFERED, { id: "carol-desk", name: "Carol (desk)" }] });
    const stored = fromStored(JSON.parse(JSON.stringify(pending(unnamed.state))));
    expect(pick(pending(stored), "carol-desk").result).toMatchObject({ kind: "asked" });
    // A stored session that has the field keeps it.
    const named = fromStored(JSON.parse(JSON.stringify(pending(accept(carolSession(["carol"])).state))));
    expect(pick(pending(named), "carol-desk").result).toEqual({ kind: "finished", status: "invalid_approver" });
  });
});
