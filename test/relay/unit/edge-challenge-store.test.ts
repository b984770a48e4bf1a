import { describe, expect, it } from "vitest";
import { EDGE_STATE_BYTES, nasKey, normalizeNasAddress, sameNas } from "../../../core/contracts/relay-challenge.ts";
import type { RelayAnswer, RelayRequest } from "../../../core/contracts/relay-api.ts";
import { decide, nasOf, type FlowDeps } from "../../../relay/src/auth-flow.ts";
import { EdgeChallengeStore, type NewChallenge } from "../../../relay/src/challenge-store.ts";
import { parseRelayConfig } from "../../../relay/src/config.ts";
import {
  EdgeRejectedError,
  EdgeUnavailableError,
  type EdgeApi,
  type EdgeChallengeApi,
  type OtpVerdict,
} from "../../../relay/src/edge-client.ts";

/**
 * The relay's side of challenge State at the edge (issue 12 item 3): EdgeChallengeStore over
 * a scripted edge (the real edge is in test/worker/relay-challenges.test.ts and, with two
 * relay processes, test/relay/relay-ha.test.ts).
 */
function scriptedEdge() {
  const kept = new Map<string, { c: RelayRequest<"challengeIssue"> }>();
  const calls: string[] = [];
  let down: Error | null = null;
  const api: EdgeChallengeApi = {
    async issueChallenge(c) {
      calls.push("issue");
      if (down) throw down;
      const state = Buffer.alloc(EDGE_STATE_BYTES, kept.size + 1).toString("hex");
      kept.set(state, { c });
      return state;
    },
    async redeemChallenge(r): Promise<RelayAnswer<"challengeRedeem">> {
      calls.push("redeem");
      if (down) throw down;
      const k = kept.get(r.state);
      kept.delete(r.state);
      if (!k) return { result: "unknown" };
      if (k.c.user !== r.user || !sameNas(k.c.nas, r.nas)) return { result: "mismatch" };
      const { username, msisdn, method, challengeId } = k.c;
      return { result: "ok", challenge: { username, msisdn, method, ...(challengeId ? { challengeId } : {}) } };
    },
  };
  return {
    api,
    calls,
    kept,
    fail: (e: Error | null) => {
      down = e;
    },
  };
}

const nas = { address: "10.0.0.1" };
const sms: NewChallenge = { user: "alice", username: "alice", nas, msisdn: "+46701234567", method: "sms", challengeId: "c1" };

describe("EdgeChallengeStore", () => {
  it("keeps challenges at the edge: the edge's State, redeemed there once", async () => {
    const edge = scriptedEdge();
    const s = new EdgeChallengeStore(edge.api, 300);
    const state = await s.issue(sms, 0);
    expect(state).toHaveLength(EDGE_STATE_BYTES);
    expect(edge.kept.get(state.toString("hex"))?.c).toMatchObject({ user: "alice", nas, ttlSeconds: 300 });
    expect(await s.redeem(state, "alice", nas, 1)).toEqual({
      ok: true,
      challenge: { username: "alice", msisdn: "+46701234567", method: "sms", challengeId: "c1" },
    });
    expect(await s.redeem(state, "alice", nas, 2)).toEqual({ ok: false, reason: "unknown" });
  });

  it("an unreachable edge at issue time throws (the fail mode decides); local TOTP challenges never reach the edge", async () => {
    const edge = scriptedEdge();
    const s = new EdgeChallengeStore(edge.api, 300);
    edge.fail(new EdgeUnavailableError("down"));
    await expect(s.issue(sms, 0)).rejects.toBeInstanceOf(EdgeUnavailableError);
    const callsBefore = edge.calls.length;
    // Local TOTP: this relay checks the code itself, so the State stays in this process.
    const local = await s.issue({ ...sms, msisdn: "", method: "local-totp" }, 0);
    expect(local).toHaveLength(16);
    edge.fail(null);
    expect(await s.redeem(local, "alice", nas, 1)).toMatchObject({ ok: true, challenge: { method: "local-totp" } });
    expect(await s.redeem(local, "alice", nas, 2)).toEqual({ ok: false, reason: "unknown" });
    expect(edge.calls.length).toBe(callsBefore);
  });

  it("a State the edge cannot be asked about is refused, not guessed; odd lengths never reach the edge", async () => {
    const edge = scriptedEdge();
    const s = new EdgeChallengeStore(edge.api, 300);
    const state = await s.issue(sms, 0);
    edge.fail(new EdgeUnavailableError("down"));
    expect(await s.redeem(state, "alice", nas, 1)).toEqual({ ok: false, reason: "edge_unavailable" });
    edge.fail(new EdgeRejectedError("edge answered 500"));
    expect(await s.redeem(state, "alice", nas, 1)).toEqual({ ok: false, reason: "edge_refused" });
    edge.fail(null);
    const before = edge.calls.length;
    for (const odd of [Buffer.alloc(0), Buffer.alloc(8), Buffer.alloc(EDGE_STATE_BYTES + 1), Buffer.alloc(253)])
      expect(await s.redeem(odd, "alice", nas, 1)).toEqual({ ok: false, reason: "unknown" });
    expect(edge.calls.length).toBe(before);
  });
});

describe("the NAS a challenge is bound to", () => {
  it("address, NAS-Identifier and NAS-IP-Address, all of them; the port is not part of it", () => {
    expect(nasOf({ source: "10.0.0.1", nasIdentifier: "vpn-1" })).toEqual({ address: "10.0.0.1", identifier: "vpn-1" });
    expect(sameNas({ address: "10.0.0.1" }, { address: "::FFFF:10.0.0.1" })).toBe(true);
    expect(normalizeNasAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(sameNas({ address: "10.0.0.1" }, { address: "10.0.0.2" })).toBe(false);
    expect(sameNas({ address: "10.0.0.1", identifier: "a" }, { address: "10.0.0.1" })).toBe(false);
    expect(sameNas({ address: "10.0.0.1", ipAddress: "192.0.2.1" }, { address: "10.0.0.1", ipAddress: "192.0.2.2" })).toBe(false);
    expect(nasKey({ address: "10.0.0.1", identifier: "a" })).not.toBe(nasKey({ address: "10.0.0.1", ipAddress: "a" }));
  });
});

describe("decide() with challenges at the edge", () => {
  const config = (failMode: "secure" | "safe") =>
    parseRelayConfig({
      clients: [{ name: "c", address: "127.0.0.1", secret: "s" }],
      edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/dev/null" },
      firstFactor: { type: "none" },
      secondFactor: "sms",
      failMode,
      users: { alice: { msisdn: "+46701234567" } },
    });
  const verified: string[] = [];
  const factors: EdgeApi = {
    touch: async () => "TOUCH_ACCEPTED",
    startSmsOtp: async () => ({ code: "SENT", challengeId: "c1" }),
    verifySmsOtp: async (_w, id, code): Promise<OtpVerdict> => (verified.push(`${id} ${code}`), code === "123456" ? "accept" : "reject"),
    verifyTotp: async () => "reject",
    hasTotp: async () => false,
    hasApp: async () => false,
    verifyChallengeResponse: async () => "reject",
  };
  const deps = (edge: EdgeChallengeApi, failMode: "secure" | "safe"): FlowDeps => ({
    config: config(failMode),
    firstFactor: {
      name: "t",
      verify: async (u, p) => (u === "alice" && p === "pw" ? { ok: true } : { ok: false, reason: "invalid credentials" }),
    },
    edge: factors,
    challenges: new EdgeChallengeStore(edge, 300),
    now: () => 0,
    warn: () => {},
  });
  const first = { user: "alice", password: "pw", source: "10.0.0.1", nasIdentifier: "vpn-1" };

  it("relay A issues, relay B (another store, same edge) answers; the State binds the NAS-Identifier", async () => {
    const edge = scriptedEdge();
    const a = deps(edge.api, "secure");
    const b = deps(edge.api, "secure");
    const c = await decide(first, a);
    expect(c).toMatchObject({ code: "Access-Challenge", replyMessage: "Enter the code sent to your phone by SMS" });
    expect(edge.kept.get(c.state?.toString("hex") ?? "")?.c.nas).toEqual({ address: "10.0.0.1", identifier: "vpn-1" });
    expect(await decide({ ...first, password: "123456", state: c.state }, b)).toMatchObject({ code: "Access-Accept" });
    expect(await decide({ ...first, password: "123456", state: c.state }, a)).toMatchObject({
      code: "Access-Reject",
      reason: "challenge state unknown",
    });
    const again = await decide(first, a);
    const other = await decide({ ...first, nasIdentifier: "vpn-2", password: "123456", state: again.state }, b);
    expect(other).toMatchObject({ code: "Access-Reject", reason: "challenge state mismatch" });
  });

  it("fail mode safe applies when the edge cannot keep the challenge, never when it cannot be asked about a State", async () => {
    const edge = scriptedEdge();
    const d = deps(edge.api, "safe");
    const c = await decide(first, d);
    edge.fail(new EdgeUnavailableError("down"));
    // The answer carries a code, not the password: with the edge unreachable nothing proves this
    // State ever passed a first factor, so even "safe" rejects. Also for a made-up State.
    const before = verified.length;
    for (const state of [c.state, Buffer.alloc(EDGE_STATE_BYTES, 7)]) {
      expect(await decide({ ...first, password: "000000", state }, d)).toMatchObject({
        code: "Access-Reject",
        reason: "challenge state edge_unavailable",
      });
    }
    expect(verified.length).toBe(before);
    // At issue time (the password was just checked) the fail mode applies as for other edge calls.
    expect(await decide(first, d)).toMatchObject({ code: "Access-Accept", reason: expect.stringMatching(/fail mode safe/) });
    expect(await decide(first, deps(edge.api, "secure"))).toMatchObject({ code: "Access-Reject" });
    // A wrong password never reaches the second factor, whatever the edge does.
    expect(await decide({ ...first, password: "nope" }, d)).toMatchObject({ code: "Access-Reject" });
  });

  it("a code the edge cannot check is refused in either fail mode (cutting the path after the challenge gains nothing)", async () => {
    for (const failMode of ["safe", "secure"] as const) {
      const edge = scriptedEdge();
      const down = new EdgeUnavailableError("timed out");
      const unreachable: EdgeApi = {
        ...factors,
        verifySmsOtp: async () => Promise.reject(down),
        verifyTotp: async () => Promise.reject(down),
        verifyChallengeResponse: async () => Promise.reject(down),
      };
      const d = { ...deps(edge.api, failMode), edge: unreachable };
      const c = await decide(first, d);
      expect(c).toMatchObject({ code: "Access-Challenge" });
      // The State is redeemed at the edge (it answers), then the code's check cannot be made.
      expect(await decide({ ...first, password: "000000", state: c.state }, d)).toMatchObject({
        code: "Access-Reject",
        reason: "edge unavailable, code not checked: timed out",
      });
    }
  });
});
