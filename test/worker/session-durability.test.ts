import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_TEXTS } from "../../workers/config/schema";
import { answer, callAuth, freshMsisdn, openLink, sessionPlace, waitForLink } from "./support/magic-link";

/**
 * A session survives its host's restart and keeps only a tombstone after its end. Magic Link
 * sessions are hosted by their number's Subscriber (docs/decisions/0022); the eviction test
 * below starts one in an AuthSession object of its own, as Assisted Login's are.
 */
describe("session durability", () => {
  it("the waiting API call survives a reset of the object hosting the session mid-wait", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn);
    const link = await waitForLink(msisdn);
    const place = await sessionPlace(link);
    expect(place.host).toBe(msisdn);
    // An abrupt reset, as on a code deploy: in-memory waiters are gone, storage stays.
    await runInDurableObject(place.stub, (_instance, state) => state.abort("simulated restart")).catch(() => {});
    const page = await openLink(link);
    expect(page.res.status).toBe(200);
    expect((await answer(link, "accept", page.csrf!)).status).toBe(200);
    expect(await (await pending).json()).toEqual({ code: "TOUCH_ACCEPTED" });
  });

  it("a gracefully evicted session resumes from storage: view, wait and decide", async () => {
    // The runtime never evicts an object while a call is in flight (the plugin's
    // evictDurableObject refuses: "still has active references"); a reset is that case, above.
    // Here the object is idle (the caller gave up) and is evicted, then used again.
    const name = `evict-${crypto.randomUUID()}`;
    const stub = env.AUTH_SESSION.getByName(name);
    await stub.start({
      name,
      msisdn: freshMsisdn(),
      endpoint: "default",
      texts: { ...DEFAULT_TEXTS, title: "Evicted" },
      smsText: "x",
      link: "https://mfa.example.com/m/x",
      timeoutMs: 60_000,
      tombstoneMs: 60_000,
      leaseShard: null,
      app: { activation: false, push: null, matchNumber: null, callerShowsNumber: false },
    });
    await evictDurableObject(stub);
    const fresh = env.AUTH_SESSION.getByName(name);
    const view = await fresh.view();
    expect(view).toMatchObject({ kind: "pending", texts: { title: "Evicted" } });
    const waiting = fresh.wait();
    expect(await fresh.decide("accept", (view as { csrf: string }).csrf)).toMatchObject({ kind: "decided" });
    expect(await waiting).toBe("accepted");
    expect(await fresh.decide("reject", (view as { csrf: string }).csrf)).toEqual({ kind: "finished", status: "accepted" });
  });

  it("an answer given while the object was down is what the re-attached call returns", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    const { stub } = await sessionPlace(link);
    await runInDurableObject(stub, (_i, state) => state.abort("restart")).catch(() => {});
    await answer(link, "reject", page.csrf!);
    expect(await (await pending).json()).toEqual({ code: "TOUCH_REJECTED" });
  });

  it("keeps only a tombstone after the answer: no phone number or texts in storage", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { params: { "title-text": "Secret title" } });
    const link = await waitForLink(msisdn);
    const { stub, stateKey } = await sessionPlace(link);
    const before = await runInDurableObject(stub, (_i, state) => state.storage.get(stateKey));
    expect(JSON.stringify(before)).toContain(msisdn);
    expect(JSON.stringify(before)).not.toContain(link.split("/m/")[1]); // the token itself is never stored
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    await pending;
    const after = await runInDurableObject(stub, (_i, state) => state.storage.get(stateKey));
    expect(after).toMatchObject({ status: "accepted" });
    expect(JSON.stringify(after)).not.toContain(msisdn);
    expect(JSON.stringify(after)).not.toContain("Secret title");
  });

  it("purges the tombstone by alarm once its retention has passed", async () => {
    const msisdn = freshMsisdn("0000"); // the gateway records the message, then fails
    expect(await (await callAuth(msisdn)).json()).toEqual({ code: "FAILED_DELIVERY" });
    const link = await waitForLink(msisdn);
    const { stub, stateKey, host } = await sessionPlace(link);
    expect(host).toBe(msisdn);
    const alarmAt = await runInDurableObject(stub, (_i, s) => s.storage.getAlarm());
    const state = await runInDurableObject(stub, (_i, s) => s.storage.get<{ purgeAt: number }>(stateKey));
    expect(alarmAt).toBe(state!.purgeAt);
    expect(state!.purgeAt - Date.now()).toBeGreaterThan(590_000); // tombstoneSeconds: 600
    // Let the retention pass (move the stored purge time into the past; a fresh instance reads
    // its schedule from the states) and fire the alarm.
    await runInDurableObject(stub, (_i, s) => s.storage.put(stateKey, { ...state, purgeAt: Date.now() - 1 }));
    await runInDurableObject(stub, (_i, s) => s.abort("reload state")).catch(() => {});
    const { stub: fresh } = await sessionPlace(link);
    expect(await runDurableObjectAlarm(fresh)).toBe(true);
    expect(await runInDurableObject(fresh, (_i, s) => s.storage.list({ prefix: "s:" }))).toEqual(new Map());
    expect(await runInDurableObject(fresh, (_i, s) => s.storage.getAlarm())).toBeNull();
    expect((await openLink(link)).res.status).toBe(404);
  });

  it("keeps the tombstone while retention lasts, so the link says it was used", async () => {
    const msisdn = freshMsisdn("0000");
    await callAuth(msisdn);
    const link = await waitForLink(msisdn);
    const { stub, stateKey } = await sessionPlace(link);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // fires early: must not purge yet
    expect(await runInDurableObject(stub, (_i, s) => s.storage.get(stateKey))).toMatchObject({ status: "failed_delivery" });
    expect(await runInDurableObject(stub, (_i, s) => s.storage.getAlarm())).not.toBeNull();
    expect((await openLink(link)).res.status).toBe(410);
  });
});
