import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { LoadShard } from "../../workers/objects/load-shard";
import { describe, expect, it } from "vitest";
import { KEYS, answer, callAuth, freshMsisdn, openLink, settlesAt, waitForLink } from "./support/magic-link";

// Its own file: the shard objects' storage is not shared with the other test files.
describe("overload protection", () => {
  it("caps concurrent pending sessions and frees a slot when one ends", async () => {
    const cfg = { ...JSON.parse(env.MFA_CONFIG), overload: { maxPending: 2, shards: 1 } };
    const opts = { env: { MFA_CONFIG: JSON.stringify(cfg) } };
    const a = freshMsisdn();
    const b = freshMsisdn();
    const pendingA = callAuth(a, opts);
    const pendingB = callAuth(b, opts);
    const linkA = await waitForLink(a);
    await waitForLink(b);

    const refused = await callAuth(freshMsisdn(), opts);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ code: "BAD_REQUEST" });
    expect(refused.headers.get("x-mfa-reason")).toBe("overloaded");

    const pageA = await openLink(linkA);
    await answer(linkA, "accept", pageA.csrf!);
    expect(await (await pendingA).json()).toEqual({ code: "TOUCH_ACCEPTED" });

    // A's lease was released when it finished: a new session fits again.
    const shard = env.LOAD_SHARD.getByName("shard-0");
    expect(await settlesAt(() => shard.pending(), 1)).toBe(1);
    const c = freshMsisdn();
    const pendingC = callAuth(c, opts);
    const linkC = await waitForLink(c);
    for (const [link, pending] of [
      [linkC, pendingC],
      [await waitForLink(b), pendingB],
    ] as const) {
      const page = await openLink(link);
      await answer(link, "reject", page.csrf!);
      expect(await (await pending).json()).toEqual({ code: "TOUCH_REJECTED" });
    }
    expect(await settlesAt(() => shard.pending(), 0)).toBe(0);
  });

  it("an endpoint's own share: its flood is refused (429 endpoint_overloaded) while other endpoints go on", async () => {
    const base = JSON.parse(env.MFA_CONFIG) as { endpoints: Array<{ name: string; maxPending?: number }> };
    const endpoints = base.endpoints.map((e) => (e.name === "other" ? { ...e, maxPending: 2 } : e));
    const cfg = { ...base, endpoints, overload: { maxPending: 1000, shards: 8 } };
    const opts = { env: { MFA_CONFIG: JSON.stringify(cfg) } };
    const tenant = { ...opts, endpoint: "other", key: KEYS.other };
    const a = freshMsisdn();
    const b = freshMsisdn();
    const pendingA = callAuth(a, tenant);
    const pendingB = callAuth(b, tenant);
    const linkA = await waitForLink(a);
    const linkB = await waitForLink(b);

    const refused = await callAuth(freshMsisdn(), tenant);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ code: "BAD_REQUEST" });
    expect(refused.headers.get("x-mfa-reason")).toBe("endpoint_overloaded");

    // Another endpoint (no share of its own) is not affected.
    const c = freshMsisdn();
    const pendingC = callAuth(c, opts);
    const linkC = await waitForLink(c);

    // When one of the tenant's sessions ends, its share has room again.
    await answer(linkA, "accept", (await openLink(linkA)).csrf!);
    expect(await (await pendingA).json()).toEqual({ code: "TOUCH_ACCEPTED" });
    const d = freshMsisdn();
    const pendingD = callAuth(d, tenant);
    const linkD = await waitForLink(d);
    for (const [link, pending] of [
      [linkB, pendingB],
      [linkC, pendingC],
      [linkD, pendingD],
    ] as const) {
      await answer(link, "reject", (await openLink(link)).csrf!);
      expect(await (await pending).json()).toEqual({ code: "TOUCH_REJECTED" });
    }
  });

  it("counts a group's leases per shard apart from the global budget; leases stored before groups still count", async () => {
    const shard = env.LOAD_SHARD.getByName("group-shard");
    const until = Date.now() + 60_000;
    const group = { name: "tenant", capacity: 1 };
    expect(await shard.acquireInGroup("t1", until, 3, group)).toBe("ok");
    expect(await shard.acquireInGroup("t2", until, 3, group)).toBe("group_full");
    expect(await shard.acquireInGroup("u1", until, 3, { name: "other", capacity: 5 })).toBe("ok");
    expect(await shard.acquire("plain", until, 3)).toBe(true);
    expect(await shard.acquireInGroup("u2", until, 3, { name: "other", capacity: 5 })).toBe("full");
    await shard.release("t1");
    expect(await shard.acquireInGroup("t2", until, 4, group)).toBe("ok");

    // A lease written by the code before groups (a bare expiry) loads and counts.
    const legacy = env.LOAD_SHARD.getByName("legacy-shard");
    const pendingAfterLoad = await runInDurableObject(legacy, async (_instance, state) => {
      await state.storage.put("lease:old", Date.now() + 60_000);
      await state.storage.put("lease:lapsed", Date.now() - 1); // expired: must not count
      // A second instance over the same storage reads it as a fresh start of the object would.
      // (Its constructor's load blocks incoming calls, not this one: let it finish first.)
      const restarted = new LoadShard(state, env);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { pending: await restarted.pending(), full: await restarted.acquireInGroup("new", Date.now() + 60_000, 1, group) };
    });
    expect(pendingAfterLoad).toEqual({ pending: 1, full: "full" });
  });

  it("spreads leases over shards and each shard enforces its share", async () => {
    const shard = env.LOAD_SHARD.getByName("unit-shard");
    const until = Date.now() + 60_000;
    expect(await shard.acquire("s1", until, 2)).toBe(true);
    expect(await shard.acquire("s2", until, 2)).toBe(true);
    expect(await shard.acquire("s3", until, 2)).toBe(false);
    await shard.release("s1");
    expect(await shard.acquire("s3", until, 2)).toBe(true);
    expect(await shard.pending()).toBe(2);
  });

  it("expires leases of sessions that never released them", async () => {
    const shard = env.LOAD_SHARD.getByName("leaky-shard");
    expect(await shard.acquire("dead", Date.now() - 1, 1)).toBe(true);
    expect(await shard.acquire("alive", Date.now() + 60_000, 1)).toBe(true); // the dead lease no longer counts
    expect(await shard.pending()).toBe(1);
  });

  it("keeps its cleanup alarm at the earliest lease, also after a restart, without reading the alarm per lease", async () => {
    const shard = env.LOAD_SHARD.getByName("alarm-shard");
    const now = Date.now();
    expect(await shard.acquire("late", now + 120_000, 5)).toBe(true);
    expect(await shard.acquire("early", now + 60_000, 5)).toBe(true);
    expect(await shard.acquire("later", now + 180_000, 5)).toBe(true); // does not move it back
    const alarms = await runInDurableObject(shard, async (_instance, state) => {
      const before = await state.storage.getAlarm();
      // A fresh instance over the same storage learns the alarm from storage, then keeps it.
      const restarted = new LoadShard(state, env);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await restarted.acquire("earliest", now + 30_000, 5);
      const lowered = await state.storage.getAlarm();
      await restarted.acquire("much-later", now + 240_000, 5);
      return { before, lowered, kept: await state.storage.getAlarm() };
    });
    expect(alarms).toEqual({ before: now + 60_000, lowered: now + 30_000, kept: now + 30_000 });
  });

  it("a call its number refuses gives its lease back before it answers; a lease refused gives the number's entry back", async () => {
    const cfg = { ...JSON.parse(env.MFA_CONFIG), overload: { maxPending: 10, shards: 1 }, maxPendingPerMsisdn: 1 };
    const opts = { env: { MFA_CONFIG: JSON.stringify(cfg) } };
    const shard = env.LOAD_SHARD.getByName("shard-0");
    const base = await settlesAt(() => shard.pending(), 0);
    const msisdn = freshMsisdn();
    const held = callAuth(msisdn, opts);
    const link = await waitForLink(msisdn);
    expect(await shard.pending()).toBe(base + 1);
    const refused = await callAuth(msisdn, opts); // the number's one pending slot is taken
    expect(refused.headers.get("x-mfa-reason")).toBe("too_many_pending");
    expect(await shard.pending()).toBe(base + 1); // its lease, taken alongside, was given back

    const full = { ...cfg, overload: { maxPending: base + 1, shards: 1 } };
    const other = freshMsisdn();
    const overloaded = await callAuth(other, { env: { MFA_CONFIG: JSON.stringify(full) } });
    expect(overloaded.headers.get("x-mfa-reason")).toBe("overloaded");
    expect(await env.SUBSCRIBER.getByName(other).pendingCount()).toBe(0); // admitted alongside, given back

    await answer(link, "accept", (await openLink(link)).csrf!);
    expect(await (await held).json()).toEqual({ code: "TOUCH_ACCEPTED" });
  });
});
