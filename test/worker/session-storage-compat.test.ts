import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_TEXTS } from "../../workers/config/schema";

/**
 * Invariants of the rewritten AuthSession (issue 11) checked against the code before the
 * redesign (898f7e6). Both pass on main; they pin what a later change must keep.
 */
const stubOf = (name: string) => env.AUTH_SESSION.getByName(name);

/** A pending state exactly as the pre-redesign object stored it (no smsDue key, optional fields absent). */
function legacyPending(name: string, msisdn: string, now: number) {
  return {
    status: "pending",
    createdAt: now,
    expiresAt: now + 60_000,
    purgeAt: null,
    tombstoneMs: 120_000,
    endpoint: "default",
    leaseShard: null,
    name,
    channel: "push",
    msisdn,
    texts: { ...DEFAULT_TEXTS, title: "Legacy" },
    csrf: "legacy-csrf-token",
    activation: false,
    pushGraceMs: 30_000,
    matchNumber: null,
    callerShowsNumber: false,
    push: { deviceId: "dev", challengeId: "C".repeat(43), nonce: null },
  };
}

describe("AuthSession: states stored by earlier code, and the alarm after an eviction", () => {
  it("a pending state written by the pre-redesign code is answered once and leaves only the old tombstone fields", async () => {
    const name = `legacy-${crypto.randomUUID()}`;
    const stub = stubOf(name);
    await runInDurableObject(stub, async (_i, s) => {
      await s.storage.put("session", legacyPending(name, "+46701112233", Date.now()));
      await s.storage.setAlarm(Date.now() + 60_000);
    });
    await evictDurableObject(stub);
    const fresh = stubOf(name);
    expect(await fresh.view()).toMatchObject({ kind: "pending", csrf: "legacy-csrf-token", match: { kind: "none" } });
    expect(await fresh.decide("accept", "wrong")).toEqual({ kind: "forbidden" });
    expect(await fresh.decide("accept", "legacy-csrf-token")).toMatchObject({ kind: "decided", status: "accepted" });
    expect(await fresh.decide("reject", "legacy-csrf-token")).toEqual({ kind: "finished", status: "accepted" });
    const stored = await runInDurableObject(fresh, (_i, s) => s.storage.get<Record<string, unknown>>("session"));
    expect(Object.keys(stored!).sort()).toEqual([
      "channel",
      "createdAt",
      "endpoint",
      "expiresAt",
      "leaseShard",
      "name",
      "purgeAt",
      "status",
      "tombstoneMs",
    ]);
    expect(await runInDurableObject(fresh, (_i, s) => s.storage.getAlarm())).toBe(stored!.purgeAt);
  });

  it("after an eviction the first save sets the alarm again (the in-memory #armedAt starts empty)", async () => {
    const name = `armed-${crypto.randomUUID()}`;
    const stub = stubOf(name);
    const now = Date.now();
    await runInDurableObject(stub, async (_i, s) => {
      await s.storage.put("session", legacyPending(name, "+46701112234", now));
      // An alarm that disagrees with nextWake (as left by an older release or an interrupted save).
      await s.storage.setAlarm(now + 3_600_000);
    });
    await evictDurableObject(stub);
    const fresh = stubOf(name);
    expect(await fresh.appView("C".repeat(43), { id: "dev", name: "Phone", uv: false })).toMatchObject({ kind: "pending", role: "user" }); // stores a nonce
    expect(await runInDurableObject(fresh, (_i, s) => s.storage.getAlarm())).toBe(now + 60_000); // nextWake: the deadline
  });
});
