import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { answer, callAuth, freshMsisdn, gatewayRequests, openLink, pendingSettlesAt } from "./support/magic-link";

async function links(msisdn: string, n: number): Promise<string[]> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const found = (await gatewayRequests(msisdn))
      .map((r) => r.text?.match(/https?:\/\/\S+\/m\/[A-Za-z0-9_-]{43}/)?.[0])
      .filter((l): l is string => !!l);
    if (found.length >= n) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} links reached ${msisdn}`);
}

describe("per-number cap on pending sessions (maxPendingPerMsisdn, default 3)", () => {
  it("refuses a 4th concurrent session with 429 too_many_pending, and admits again once one ends", async () => {
    const msisdn = freshMsisdn();
    const calls = [callAuth(msisdn), callAuth(msisdn), callAuth(msisdn)];
    const [l1, l2, l3] = await links(msisdn, 3);
    expect(await env.SUBSCRIBER.getByName(msisdn).pendingCount()).toBe(3);

    const refused = await callAuth(msisdn);
    expect(refused.status).toBe(429);
    expect(await refused.text()).toBe('{"code":"BAD_REQUEST"}');
    expect(refused.headers.get("x-mfa-reason")).toBe("too_many_pending");
    expect((await gatewayRequests(msisdn)).length).toBe(3); // no SMS for the refused one

    // Another number is not affected.
    const other = freshMsisdn();
    const otherCall = callAuth(other);
    const [ol] = await links(other, 1);

    // SMS can arrive in any order, so which call the first link belongs to is not known:
    // the one that returns at once is it.
    const p1 = await openLink(l1!);
    await answer(l1!, "accept", p1.csrf!);
    const done = await Promise.race(calls.map((c, i) => c.then(() => i)));
    expect(await (await calls[done]!).json()).toEqual({ code: "TOUCH_ACCEPTED" });
    expect(await pendingSettlesAt(msisdn, 2)).toBe(2);
    const fourth = callAuth(msisdn);
    const all = await links(msisdn, 4);

    for (const l of [l2!, l3!, all[3]!, ol!]) {
      const p = await openLink(l);
      await answer(l, "reject", p.csrf!);
    }
    await Promise.all([...calls, fourth, otherCall]);
    expect(await pendingSettlesAt(msisdn, 0)).toBe(0);
  });

  it("a session that fails delivery frees its slot at once", async () => {
    const msisdn = freshMsisdn("0000"); // the fake gateway fails these
    for (let i = 0; i < 5; i++) expect(await (await callAuth(msisdn)).json()).toEqual({ code: "FAILED_DELIVERY" });
    expect(await env.SUBSCRIBER.getByName(msisdn).pendingCount()).toBe(0);
  });

  it("entries lapse on their own if a session never releases (crash safety)", async () => {
    const stub = env.SUBSCRIBER.getByName(freshMsisdn());
    const limits = { perMinute: 100, perHour: 100 };
    expect(await stub.admit(limits, { session: "a", until: Date.now() + 50, cap: 1 })).toMatchObject({ allowed: true });
    expect(await stub.admit(limits, { session: "b", until: Date.now() + 60_000, cap: 1 })).toEqual({
      allowed: false,
      reason: "too_many_pending",
    });
    await new Promise((r) => setTimeout(r, 80));
    expect(await stub.admit(limits, { session: "b", until: Date.now() + 60_000, cap: 1 })).toMatchObject({ allowed: true });
  });
});
