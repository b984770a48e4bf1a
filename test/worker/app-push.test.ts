import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { answer, callAuth, codeOf, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import { LINK_PATTERN } from "../support/magic-link-user";
import {
  APP,
  NO_PUSH,
  activateDevice,
  appApi,
  fetchChallenge,
  pushMessages,
  sendAnswer,
  waitForPush,
  type TestDevice,
  appRead,
} from "./support/authenticator-app";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Approves a pushed challenge the way the app does: fetch details, sign, send. */
async function approveInApp(d: TestDevice, challengeId: string, decision: "accept" | "reject" = "accept") {
  const { body } = await fetchChallenge(d, challengeId);
  return sendAnswer(d, { c: challengeId, n: body.nonce, d: decision });
}

describe("smart delivery: push to an activated app", () => {
  it("pushes only the challenge id; the app fetches details and its signed Accept returns TOUCH_ACCEPTED", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, { ...APP, params: { "title-text": "ACME VPN", "authentication-text": "Sign in from Oslo?" } });

    const challengeId = await waitForPush(d.sub!);
    const [push] = await pushMessages(d.sub!.id);
    expect(JSON.parse(push!.payload!)).toEqual({ c: challengeId }); // nothing else: no texts, no number
    expect(push!.vapid.ok).toBe(true);

    const { res, body } = await fetchChallenge(d, challengeId);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ status: "pending", title: "ACME VPN", text: "Sign in from Oslo?", choices: null });
    const ans = await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" });
    expect(ans.status).toBe(200);
    expect(await ans.json()).toMatchObject({ status: "accepted" });

    const result = await pending;
    expect(result.status).toBe(200);
    expect(await result.text()).toBe('{"code":"TOUCH_ACCEPTED"}');
    expect((await gatewayRequests(msisdn)).length).toBe(smsBefore); // no SMS was needed
  });

  it("a Reject in the app returns TOUCH_REJECTED", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const pending = callAuth(msisdn, APP);
    await approveInApp(d, await waitForPush(d.sub!), "reject");
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("lists the pending challenge to the app when it is opened (push lost or notification dismissed)", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const pending = callAuth(msisdn, APP);
    const challengeId = await waitForPush(d.sub!);
    const list = await appRead(d, "pending");
    expect(await list.json()).toEqual({ challenges: [challengeId], push: true });
    await approveInApp(d, challengeId);
    await pending;
    expect(await (await appRead(d, "pending")).json()).toEqual({ challenges: [], push: true });
  });

  it.each([
    ["gone", 410],
    ["missing", 404],
  ] as const)("push service answers %s (%i): the device is removed and the SMS link goes out at once", async (mode, _status) => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { pushMode: mode });
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const started = Date.now();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn, 10_000, smsBefore);
    expect(Date.now() - started).toBeLessThan(1500); // not after the 2 s grace: at once
    expect(await pushMessages(d.sub!.id)).toHaveLength(1);
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toBeNull();
    expect((await appRead(d, "pending")).status).toBe(404);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("push service error (500): SMS link at once, the device is kept", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { pushMode: "fail" });
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn, 10_000, smsBefore);
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: d.deviceId });
    const page = await openLink(link);
    await answer(link, "reject", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("no answer within the grace period: the SMS link follows, and either channel can answer", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const started = Date.now();
    const pending = callAuth(msisdn, APP); // pushGraceSeconds: 2
    const challengeId = await waitForPush(d.sub!);
    await sleep(1000);
    expect((await gatewayRequests(msisdn)).length).toBe(smsBefore); // still within grace
    const link = await waitForLink(msisdn, 10_000, smsBefore);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    // The SMS link page works...
    expect((await openLink(link)).res.status).toBe(200);
    // ...and the app still can answer; the first answer wins.
    await approveInApp(d, challengeId);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
    expect((await openLink(link)).res.status).toBe(410);
  });

  it("the grace timer survives a restart of the number's object hosting the session (alarm + stored state)", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, { ...APP, params: { "touch-timeout": "60" } });
    const challengeId = await waitForPush(d.sub!);
    const number = () => env.SUBSCRIBER.getByName(msisdn);
    // The session is hosted by the number's Subscriber (docs/decisions/0022), its state (with
    // the challenge it pushed) under its prefix.
    const stateKey = (await runInDurableObject(number(), async (_i, s) => {
      const states = await s.storage.list<{ push?: { challengeId: string } }>({ prefix: "s:" });
      return [...states].find(([, state]) => state.push?.challengeId === challengeId)![0];
    })) as string;
    const stored = await runInDurableObject(number(), (_i, s) => s.storage.get<{ smsDue: { at: number } }>(stateKey));
    expect(stored!.smsDue.at).toBeGreaterThan(Date.now() - 5000);
    expect(await runInDurableObject(number(), (_i, s) => s.storage.getAlarm())).toBe(stored!.smsDue.at);
    await runInDurableObject(number(), (_i, s) => s.abort("simulated restart")).catch(() => {});
    // The fresh instance fires the stored alarm and sends the fallback SMS from storage.
    await sleep(Math.max(0, stored!.smsDue.at - Date.now()));
    await runDurableObjectAlarm(number());
    const link = await waitForLink(msisdn, 10_000, smsBefore);
    // Once sent, the link is no longer kept in storage.
    const after = await runInDurableObject(number(), (_i, s) => s.storage.get<{ smsDue: unknown }>(stateKey));
    expect(after!.smsDue).toBeNull();
    expect(JSON.stringify(after)).not.toContain(link.split("/m/")[1]);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
    expect((await gatewayRequests(msisdn)).length).toBe(smsBefore + 1); // exactly one fallback SMS
  });

  it("after a restart of the number's object the pushed challenge is still listed and answerable: it is read again from the session's state", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const pending = callAuth(msisdn, { ...APP, params: { "touch-timeout": "60" } });
    const challengeId = await waitForPush(d.sub!);
    const number = () => env.SUBSCRIBER.getByName(msisdn);
    // No stored entry holds the challenge: the hosted session's state does.
    expect(await runInDurableObject(number(), (_i, s) => s.storage.get("pending"))).toBeUndefined();
    await runInDurableObject(number(), (_i, s) => s.abort("simulated restart")).catch(() => {});
    expect(await number().pendingCount()).toBe(1);
    const list = await appRead(d, "pending");
    expect(await list.json()).toEqual({ challenges: [challengeId], push: true });
    expect((await approveInApp(d, challengeId)).status).toBe(200);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
    expect(await number().pendingCount()).toBe(0);
    expect(await (await appRead(d, "pending")).json()).toEqual({ challenges: [], push: true });
  });

  it("with the number's last device removed, a pushed challenge is no longer offered, also not to a device activated after, nor after a restart", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const pending = callAuth(msisdn, { ...APP, params: { "touch-timeout": "60" } });
    const challengeId = await waitForPush(d.sub!);
    expect(await env.SUBSCRIBER.getByName(msisdn).removeDevice(d.deviceId)).toMatchObject({ deviceId: d.deviceId });
    const next = await activateDevice(msisdn);
    const list = await appRead(next, "pending");
    expect((await list.json()) as { challenges: string[] }).toMatchObject({ challenges: [] });
    expect((await fetchChallenge(next, challengeId)).res.status).toBe(404);
    // Nor after a restart, which reads the session's state (with the challenge it pushed) again.
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.abort("simulated restart")).catch(() => {});
    const relisted = await appRead(next, "pending");
    expect((await relisted.json()) as { challenges: string[] }).toMatchObject({ challenges: [] });
    expect((await fetchChallenge(next, challengeId)).res.status).toBe(404);
    expect(await env.SUBSCRIBER.getByName(msisdn).pendingCount()).toBeGreaterThanOrEqual(1);
    // The sign-in's SMS link (sent when the push grace ran out) still answers it; the other
    // SMS to this number are the activations' own.
    let page: Awaited<ReturnType<typeof openLink>> | null = null;
    let link = "";
    for (let tries = 0; !page && tries < 200; tries++) {
      for (const sms of await gatewayRequests(msisdn)) {
        const found = sms.text?.match(LINK_PATTERN)?.[0];
        const opened = found ? await openLink(found) : null;
        if (opened?.res.status === 200) [page, link] = [opened, found ?? ""];
      }
      if (!page) await sleep(50);
    }
    await answer(link, "accept", page!.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("an endpoint with usePush=false always sends the SMS link", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, NO_PUSH);
    const link = await waitForLink(msisdn, 10_000, smsBefore);
    expect(await pushMessages(d.sub!.id)).toHaveLength(0);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("a device activated without push (notifications denied) gets the SMS link", async () => {
    const msisdn = freshMsisdn();
    await activateDevice(msisdn, { pushMode: null });
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn, 10_000, smsBefore);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("admission tells whether the number has a device to push to; without one the SMS goes with no challenge opened", async () => {
    const limits = { perMinute: 100, perHour: 1000 };
    const claim = (session: string) => ({ session, until: Date.now() + 60_000, cap: 5, push: true });
    const bare = freshMsisdn();
    expect(await env.SUBSCRIBER.getByName(bare).admit(limits, claim("s1"))).toMatchObject({ allowed: true, pushable: false });
    const silent = freshMsisdn();
    await activateDevice(silent, { pushMode: null });
    expect(await env.SUBSCRIBER.getByName(silent).admit(limits, claim("s1"))).toMatchObject({ allowed: true, pushable: false });
    const reachable = freshMsisdn();
    await activateDevice(reachable);
    expect(await env.SUBSCRIBER.getByName(reachable).admit(limits, claim("s1"))).toMatchObject({ allowed: true, pushable: true });
    // Not asked (no push for this session): not answered.
    expect(await env.SUBSCRIBER.getByName(reachable).admit(limits)).not.toHaveProperty("pushable");

    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const { entries, states } = await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), async (_i, state) => ({
      entries: await state.storage.get<Record<string, object>>("pending"),
      states: [...(await state.storage.list<{ status: string; push?: unknown }>({ prefix: "s:" })).values()],
    }));
    // Hosted by the number's object: no stored entry, and the session pushed no challenge.
    expect(entries).toBeUndefined();
    expect(states).toHaveLength(1);
    expect(states[0]).toMatchObject({ status: "pending" });
    expect(states[0]).not.toHaveProperty("push");
    expect(await env.SUBSCRIBER.getByName(msisdn).pendingCount()).toBe(1);
    await answer(link, "accept", (await openLink(link)).csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("USER_NOT_RESPONDED when neither push nor link is answered", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const pending = callAuth(msisdn, { ...APP, params: { "touch-timeout": "15" } });
    await waitForPush(d.sub!);
    expect(await codeOf(await pending)).toBe("USER_NOT_RESPONDED");
  }, 40_000);
});

describe("signed answers", () => {
  async function pushed() {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const pending = callAuth(msisdn, APP);
    const challengeId = await waitForPush(d.sub!);
    return { msisdn, d, pending, challengeId };
  }

  it("refuses a bad signature (another key) and leaves the session pending", async () => {
    const { d, pending, challengeId } = await pushed();
    const { body } = await fetchChallenge(d, challengeId);
    const other = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])) as CryptoKeyPair;
    const forged = await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" }, other.privateKey);
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({ error: "bad_signature" });
    // A tampered payload under a genuine signature fails too.
    const { signCompactJws } = await import("../../core/jws-sign");
    const genuine = await signCompactJws(d.keys.privateKey, { typ: "edge-mfa/answer", c: challengeId, n: body.nonce, d: "reject" });
    const [h, , s] = genuine.split(".");
    const tamperedPayload = btoa(JSON.stringify({ typ: "edge-mfa/answer", c: challengeId, n: body.nonce, d: "accept" }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const tampered = await appApi("answer", { msisdn: d.msisdn, deviceId: d.deviceId, jws: `${h}.${tamperedPayload}.${s}` });
    expect(tampered.status).toBe(403);
    // The real answer still works.
    expect((await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" })).status).toBe(200);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("refuses a stale or replayed nonce", async () => {
    const { d, pending, challengeId } = await pushed();
    const first = (await fetchChallenge(d, challengeId)).body.nonce;
    const second = (await fetchChallenge(d, challengeId)).body.nonce;
    expect(second).not.toBe(first);
    const stale = await sendAnswer(d, { c: challengeId, n: first, d: "accept" });
    expect(stale.status).toBe(409);
    const ok = await sendAnswer(d, { c: challengeId, n: second, d: "accept" });
    expect(ok.status).toBe(200);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
    // Replaying the exact accepted request changes nothing.
    const replay = await sendAnswer(d, { c: challengeId, n: second, d: "reject" });
    expect([404, 410]).toContain(replay.status);
  });

  it("refuses the wrong device: another number's device, and a replaced device", async () => {
    const { msisdn, d, pending, challengeId } = await pushed();
    const stranger = await activateDevice(freshMsisdn());
    const { body } = await fetchChallenge(d, challengeId);
    // The stranger's device id and key, claiming this number.
    const asStranger = await sendAnswer({ ...stranger, msisdn }, { c: challengeId, n: body.nonce, d: "accept" });
    expect(asStranger.status).toBe(404);
    // This number's device id, but signed by the stranger's key.
    const wrongKey = await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" }, stranger.keys.privateKey);
    expect(wrongKey.status).toBe(403);
    // The stranger cannot even read the challenge.
    expect((await fetchChallenge({ ...stranger, msisdn }, challengeId)).res.status).toBe(404);
    expect((await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" })).status).toBe(200);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("a signed answer cannot be moved to another challenge", async () => {
    const { d, pending, challengeId } = await pushed();
    const { body } = await fetchChallenge(d, challengeId);
    const res = await sendAnswer(d, { c: "B".repeat(43), n: body.nonce, d: "accept" });
    expect(res.status).toBe(404);
    await sendAnswer(d, { c: challengeId, n: body.nonce, d: "reject" });
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });
});
