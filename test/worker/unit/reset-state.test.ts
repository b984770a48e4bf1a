import { describe, expect, it } from "vitest";
import { advanced, attached, claimed, created, MAX_ATTEMPTS, settled, viewOf } from "../../../workers/objects/reset-session/state";

const T0 = 1_000_000;
const init = { endpoint: "e", site: "s", username: "alice", expiresAt: T0 + 900_000, approvalDeadline: T0 + 300_000 };
const fresh = () => created(init, "flow-0");

describe("reset state", () => {
  it("a real user moves to the password step only when approved", () => {
    const s = attached(fresh(), { kind: "started", authSession: "auth", msisdn: "+46700000001" }, "decoy");
    expect(viewOf(advanced(s, T0 + 1000, false, "flow-1")).kind).toBe("waiting");
    const p = advanced(s, T0 + 1000, true, "flow-1");
    expect(viewOf(p)).toMatchObject({ kind: "password", flow: "flow-1", username: "alice" });
  });

  it("an unknown user is never approved and ends at the same deadline as an unanswered one", () => {
    const unknown = attached(fresh(), { kind: "silent" }, "decoy");
    expect(unknown.authSession).toBe("decoy"); // polled like a real one
    expect(advanced(unknown, T0 + 1000, true, "f").phase).toBe("verifying"); // no number: nothing to approve
    const real = attached(fresh(), { kind: "started", authSession: "auth", msisdn: "+46700000001" }, "decoy");
    for (const s of [unknown, real]) {
      expect(viewOf(advanced(s, T0 + 299_999, false, "f")).kind).toBe("waiting");
      expect(viewOf(advanced(s, T0 + 300_000, false, "f"))).toMatchObject({ kind: "over", reason: "not_approved" });
    }
  });

  it("the flow token is single use and must be the current one", () => {
    const p = advanced(attached(fresh(), { kind: "started", authSession: "a", msisdn: "+46700000001" }, "decoy"), T0, true, "flow-1");
    expect(claimed(p, "flow-0", T0, "flow-2").result).toEqual({ kind: "refused" });
    expect(claimed(p, "flow-1x", T0, "flow-2").result).toEqual({ kind: "refused" });
    const c = claimed(p, "flow-1", T0, "flow-2");
    expect(c.result).toMatchObject({ kind: "claimed", username: "alice", site: "s" });
    expect(claimed(c.state, "flow-1", T0, "flow-3").result).toEqual({ kind: "refused" });
  });

  it("expires the password step", () => {
    const p = advanced(attached(fresh(), { kind: "started", authSession: "a", msisdn: "+46700000001" }, "decoy"), T0, true, "flow-1");
    expect(claimed(p, "flow-1", init.expiresAt, "x").result).toMatchObject({ kind: "over", reason: "expired" });
    expect(viewOf(advanced(p, init.expiresAt, false, "x"))).toMatchObject({ kind: "over", reason: "expired" });
  });

  it("a refusal may be retried a few times, then the reset is over", () => {
    let s = advanced(attached(fresh(), { kind: "started", authSession: "a", msisdn: "+46700000001" }, "decoy"), T0, true, "f0");
    for (let i = 1; i <= MAX_ATTEMPTS; i++) {
      const c = claimed(s, s.flow, T0, `f${i}`);
      expect(c.result.kind).toBe("claimed");
      s = settled(c.state, { changed: false, retry: true, message: "no" }, T0);
    }
    expect(viewOf(s)).toMatchObject({ kind: "over", reason: "failed", message: "no" });
  });

  it("an unavailable relay ends the reset at once", () => {
    expect(viewOf(attached(fresh(), { kind: "unavailable" }, "decoy"))).toMatchObject({ kind: "over", reason: "unavailable" });
  });
});
