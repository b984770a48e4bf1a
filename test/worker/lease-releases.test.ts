import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LoadShard } from "../../workers/objects/load-shard";
import { acquireLease, endpointShards } from "../../workers/domain/overload";
import { RELEASE_FLUSH_MS, queueRelease, takeReleases } from "../../workers/domain/lease-releases";
import { answer, callAuth, envWith, freshMsisdn, KEYS, openLink, settlesAt, waitForLink } from "./support/magic-link";

/**
 * Issue 16: a session's overload lease goes back with the call that waited on it, carried by
 * its isolate's next lease from that shard (workers/domain/lease-releases.ts): one call to the
 * shard per authentication instead of two, and the cap still frees every slot. Its own file:
 * the shard objects' storage is not shared with the other test files.
 */
const ONE_SHARD = { maxPending: 1, shards: 1 };
const until = () => Date.now() + 60_000;
const shard = (name: string) => env.LOAD_SHARD.getByName(name);
/** A fresh env object: an isolate of its own, so no other test's queued releases. */
const isolate = () => ({ ...env }) as Env;
/**
 * Spies on the shards' methods as their callers reach them over RPC: on the class the runtime
 * runs (an object's prototype; the module this file imports may be another copy of it).
 */
const spies = () =>
  runInDurableObject(shard("shard-0"), (instance: LoadShard) => {
    const proto = Object.getPrototypeOf(instance) as LoadShard;
    return { acquire: vi.spyOn(proto, "acquire"), release: vi.spyOn(proto, "release"), releaseAll: vi.spyOn(proto, "releaseAll") };
  });

afterEach(() => vi.restoreAllMocks());

describe("lease releases carried by the next lease", () => {
  it("an acquire carries its isolate's queued releases: the call that frees the slot also takes it", async () => {
    const e = isolate();
    const { releaseAll } = await spies();
    expect(await acquireLease(e, ONE_SHARD, "carry-a", until())).toMatchObject({ shard: "shard-0" });
    const opener = queueRelease(e, "shard-0", "carry-a");
    // The shard holds one lease at most: only a call that gives carry-a back first can take one.
    expect(await acquireLease(e, ONE_SHARD, "carry-b", until())).toMatchObject({ shard: "shard-0" });
    expect(await shard("shard-0").pending()).toBe(1);
    await opener; // its timer found the queue taken: nothing more is sent
    expect(releaseAll).not.toHaveBeenCalled();
    await shard("shard-0").release("carry-b");
  });

  it("without that next lease the queue's opener sends them after RELEASE_FLUSH_MS, in one call, once", async () => {
    const e = isolate();
    const { releaseAll } = await spies();
    const s = { maxPending: 2, shards: 1 };
    await acquireLease(e, s, "flush-a", until());
    await acquireLease(e, s, "flush-b", until());
    const opener = queueRelease(e, "shard-0", "flush-a");
    const second = queueRelease(e, "shard-0", "flush-b");
    await second; // settled at once: the opener sends both
    expect(await shard("shard-0").pending()).toBe(2);
    const queuedAt = Date.now();
    await opener;
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(RELEASE_FLUSH_MS - 5);
    expect(await shard("shard-0").pending()).toBe(0);
    expect(releaseAll.mock.calls).toEqual([[["flush-a", "flush-b"]]]);
  });

  it("a carrying call that fails sends its releases again on their own", async () => {
    const e = isolate();
    const { releaseAll } = await spies();
    await acquireLease(e, ONE_SHARD, "lost-a", until());
    void queueRelease(e, "shard-0", "lost-a");
    const carried = takeReleases(e);
    expect(carried && { shard: carried.shard, ids: [...carried.ids] }).toEqual({ shard: "shard-0", ids: ["lost-a"] });
    carried?.carry(Promise.reject(new Error("the carrying call failed")));
    expect(await settlesAt(() => shard("shard-0").pending(), 0)).toBe(0);
    expect(releaseAll.mock.calls).toEqual([[["lost-a"]]]);
    expect(takeReleases(e)).toBeNull();
  });

  it("an endpoint's lease carries only releases of a shard in its share; the others wait for their own", async () => {
    const e = isolate();
    const s = { maxPending: 100, shards: 4 };
    const endpoint = { name: "carry-share", maxPending: 2 };
    const [part] = endpointShards(s, endpoint.name, endpoint.maxPending);
    const outside = ["shard-0", "shard-1", "shard-2", "shard-3"].find((name) => name !== part?.shard) ?? "";
    void queueRelease(e, outside, "elsewhere");
    expect(await acquireLease(e, s, "in-share", until(), endpoint)).toMatchObject({ shard: part?.shard });
    expect(takeReleases(e)?.shard).toBe(outside);
    await shard(part?.shard ?? "").release("in-share");
  });
});

describe("the session hands its lease to the call waiting on it", () => {
  it("blocking calls keep their sessions' leases: the next session takes it over, the last goes back; the sessions' object makes no call for them", async () => {
    const { acquire, release, releaseAll } = await spies();
    const cfg = { ...JSON.parse(env.MFA_CONFIG), overload: ONE_SHARD };
    const opts = { env: { MFA_CONFIG: JSON.stringify(cfg) } };
    for (const decision of ["accept", "reject"] as const) {
      const msisdn = freshMsisdn();
      const pending = callAuth(msisdn, opts);
      const link = await waitForLink(msisdn);
      await answer(link, decision, (await openLink(link)).csrf!);
      expect((await pending).status).toBe(200);
    }
    // One slot in all, and one lease taken for both sessions: the second took the first's over
    // (lease-pool.ts) if it came within LEASE_IDLE_MS, else the first's went back with it.
    expect(await settlesAt(() => shard("shard-0").pending(), 0)).toBe(0);
    const leased = acquire.mock.calls.map((call) => call[0]);
    expect(leased.length).toBeGreaterThanOrEqual(1);
    expect(leased.length).toBeLessThanOrEqual(2);
    const givenBack = [...acquire.mock.calls.flatMap((call) => call[3] ?? []), ...releaseAll.mock.calls.flatMap((call) => call[0])];
    expect(givenBack.sort()).toEqual([...leased].sort());
    expect(release).not.toHaveBeenCalled();
    // The two calls share their isolate's env, where the pool and the queue live.
    expect(envWith(opts.env)).toBe(envWith(opts.env));
  });

  it("a session no call waits on (the async API) gives its lease back from its object", async () => {
    const { acquire, release } = await spies();
    const msisdn = freshMsisdn();
    const res = await exports.default.fetch(
      new Request("https://mfa.example.com/api/v2/auth", {
        method: "POST",
        headers: { "content-type": "application/json", "api-key": KEYS.default },
        body: JSON.stringify({ msisdn }),
      }),
    );
    expect(res.status).toBe(202);
    const link = await waitForLink(msisdn);
    await answer(link, "accept", (await openLink(link)).csrf!);
    const [leased] = acquire.mock.calls.map((call) => call[0]);
    expect(leased).toBeTruthy();
    expect(await settlesAt(async () => release.mock.calls.some((call) => call[0] === leased), true)).toBe(true);
  });
});
