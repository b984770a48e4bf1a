import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { answer, callAuth, freshMsisdn, openLink, waitForLink } from "./support/magic-link";

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
    expect(await env.LOAD_SHARD.getByName("shard-0").pending()).toBe(0);
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
});
