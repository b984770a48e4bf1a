import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AnswerResponse } from "../../core/contracts/app-api";
import {
  KEYS,
  answer,
  callAuth,
  codeOf,
  freshMsisdn,
  gatewayRequests,
  openLink,
  pendingSettlesAt,
  waitForLink,
} from "./support/magic-link";
import { activateDevice, fetchChallenge, sendAnswer, waitForPush, type TestDevice, appRead, signedRead } from "./support/authenticator-app";

/**
 * Assisted Login with the authenticator app: the user answers and picks the approver in the
 * app, and an approver with the app gets a push of their own (SMS link as fallback).
 */

type ApproverEntry = { name: string; msisdn: string };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls the "assisted" endpoint with this approver list and push grace period. */
function callAssisted(msisdn: string, approvers: ApproverEntry[], pushGraceSeconds = 10) {
  const cfg = JSON.parse(env.MFA_CONFIG) as { endpoints: Array<{ name: string }> };
  cfg.endpoints = cfg.endpoints.map((e) => (e.name === "assisted" ? { ...e, assistedLogin: { approvers }, pushGraceSeconds } : e));
  return callAuth(msisdn, { endpoint: "assisted", key: KEYS.assisted, env: { MFA_CONFIG: JSON.stringify(cfg) } });
}

async function smsCount(msisdn: string) {
  return (await gatewayRequests(msisdn)).length;
}

/** The approver's pushed challenge, fetched as their app does. */
async function approverChallenge(approver: TestDevice, pushNo: number) {
  const id = await waitForPush(approver.sub!, pushNo);
  return { id, ...(await fetchChallenge(approver, id)) };
}

/** A user with the app and two approvers (Alice, Bob), both with the app too. */
async function setup() {
  const user = await activateDevice(freshMsisdn());
  const alice = await activateDevice(freshMsisdn());
  const bob = await activateDevice(freshMsisdn());
  const approvers = [
    { name: "Alice Admin", msisdn: alice.msisdn },
    { name: "Bob Helpdesk", msisdn: bob.msisdn },
  ];
  return { user, alice, bob, approvers };
}

/** The user's app: open the pushed challenge, Accept, get the approver list. */
async function userAcceptsInApp(user: TestDevice, pushNo = 1) {
  const challengeId = await waitForPush(user.sub!, pushNo);
  const { res, body } = await fetchChallenge(user, challengeId);
  expect(res.status).toBe(200);
  const accepted = await sendAnswer(user, { c: challengeId, n: body.nonce, d: "accept" });
  expect(accepted.status).toBe(200);
  const next = (await accepted.json()) as Extract<AnswerResponse, { status: "choose_approver" }>;
  expect(next.status).toBe("choose_approver");
  return { challengeId, details: body, next };
}

/** The user accepts in the app and picks the named approver there. */
async function userPicksInApp(user: TestDevice, approverName: string) {
  const { challengeId, next } = await userAcceptsInApp(user);
  const id = next.approvers.find((a) => a.name === approverName)!.id;
  const picked = await sendAnswer(user, { c: challengeId, n: next.nonce, d: "accept", a: id });
  expect(await picked.json()).toEqual({ status: "asked", approverName });
}

describe("Assisted Login in the authenticator app", () => {
  it("user accepts and picks in the app, the approver's app gets a push and accepts: TOUCH_ACCEPTED, no SMS at all", async () => {
    const { user, alice, bob, approvers } = await setup();
    const sms = { user: await smsCount(user.msisdn), alice: await smsCount(alice.msisdn), bob: await smsCount(bob.msisdn) };
    let settled = false;
    const pending = callAssisted(user.msisdn, approvers).then((r) => ((settled = true), r));

    const { challengeId, details, next } = await userAcceptsInApp(user);
    expect(details).toMatchObject({ status: "pending", role: "user", step: "answer", title: "ACME VPN", choices: null });
    // Names and opaque ids only, never the approvers' numbers.
    expect(next.approvers.map((a) => a.name)).toEqual(["Alice Admin", "Bob Helpdesk"]);
    expect(JSON.stringify(next)).not.toContain(alice.msisdn.slice(1));
    // The nonce of the first step is spent; the pick must carry the new one.
    const bobId = next.approvers.find((a) => a.name === "Bob Helpdesk")!.id;
    expect((await sendAnswer(user, { c: challengeId, n: details.nonce, d: "accept", a: bobId })).status).toBe(409);
    await sleep(100);
    expect(settled).toBe(false); // the user's Accept alone decides nothing

    const picked = await sendAnswer(user, { c: challengeId, n: next.nonce, d: "accept", a: bobId });
    expect(picked.status).toBe(200);
    expect(await picked.json()).toEqual({ status: "asked", approverName: "Bob Helpdesk" });
    // The user's part is done: their app no longer lists the challenge.
    expect(await (await appRead(user, "pending")).json()).toMatchObject({ challenges: [] });

    const asked = await approverChallenge(bob, 1);
    expect(asked.res.status).toBe(200);
    expect(asked.body).toMatchObject({
      status: "pending",
      role: "approver",
      step: "answer",
      title: "ACME VPN",
      choices: null,
      approvers: null,
    });
    expect(asked.body.text).toMatch(/^\+46\d\*+\d\d asks you to approve a sign-in\.$/);
    expect(asked.body.text).not.toContain(user.msisdn);
    // Only the picked approver is asked, and only Bob's device can answer Bob's challenge.
    expect((await appRead(alice, "pending").then((r) => r.json())) as object).toMatchObject({
      challenges: [],
    });
    expect((await sendAnswer(user, { c: asked.id, n: asked.body.nonce, d: "accept" })).status).toBe(404);
    await sleep(100);
    expect(settled).toBe(false);

    const done = await sendAnswer(bob, { c: asked.id, n: asked.body.nonce, d: "accept" });
    expect(await done.json()).toMatchObject({ status: "accepted" });
    expect(await (await pending).text()).toBe('{"code":"TOUCH_ACCEPTED"}');
    expect(sms).toEqual({ user: await smsCount(user.msisdn), alice: await smsCount(alice.msisdn), bob: await smsCount(bob.msisdn) });
    // The approver's entry is released with the session.
    expect(await pendingSettlesAt(bob.msisdn, 0)).toBe(0);
  });

  it("the approver's app rejects: TOUCH_REJECTED; a pick and accept in one signed answer works too", async () => {
    const { user, alice, approvers } = await setup();
    const pending = callAssisted(user.msisdn, approvers);
    const challengeId = await waitForPush(user.sub!, 1);
    const { body } = await fetchChallenge(user, challengeId);
    const aliceId = body.approvers!.find((a) => a.name === "Alice Admin")!.id;
    const picked = await sendAnswer(user, { c: challengeId, n: body.nonce, d: "accept", a: aliceId });
    expect(await picked.json()).toEqual({ status: "asked", approverName: "Alice Admin" });
    const asked = await approverChallenge(alice, 1);
    expect(await (await sendAnswer(alice, { c: asked.id, n: asked.body.nonce, d: "reject" })).json()).toMatchObject({ status: "rejected" });
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
  });

  it("the approver's app does not answer within the grace period: their SMS link follows, and the link decides", async () => {
    const { user, bob, approvers } = await setup();
    const before = await smsCount(bob.msisdn);
    const userBefore = await smsCount(user.msisdn);
    const pending = callAssisted(user.msisdn, approvers, 2);
    const { challengeId, next } = await userAcceptsInApp(user);
    const bobId = next.approvers.find((a) => a.name === "Bob Helpdesk")!.id;
    const askedAt = Date.now();
    await sendAnswer(user, { c: challengeId, n: next.nonce, d: "accept", a: bobId });
    const asked = await approverChallenge(bob, 1);
    await sleep(1000);
    expect(await smsCount(bob.msisdn)).toBe(before); // still within grace

    const link = await waitForLink(bob.msisdn, 10_000, before);
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(2000);
    const [sms] = (await gatewayRequests(bob.msisdn)).slice(before);
    expect(sms!.text).toContain("ACME VPN");
    expect(sms!.text).not.toContain(user.msisdn);
    const page = await openLink(link);
    expect(page.html).toMatch(/\*{6,}\d\d asks you to approve a sign-in/);
    expect((await answer(link, "reject", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
    // The app's answer comes too late: the first answer won ("already answered": 410, not 404, since several devices per number).
    expect((await sendAnswer(bob, { c: asked.id, n: asked.body.nonce, d: "accept" })).status).toBe(410);
    // The user answered in the app within their grace period: their SMS link was never sent.
    expect(await smsCount(user.msisdn)).toBe(userBefore);
  });

  it.each([
    ["fail", true],
    ["gone", false],
  ] as const)("the approver's push service answers %s: SMS link at once (device kept: %s)", async (mode, kept) => {
    const user = await activateDevice(freshMsisdn());
    const approver = await activateDevice(freshMsisdn(), { pushMode: mode });
    const before = await smsCount(approver.msisdn);
    const pending = callAssisted(user.msisdn, [{ name: "Carol Ops", msisdn: approver.msisdn }]);
    const { challengeId, next } = await userAcceptsInApp(user);
    const pickedAt = Date.now();
    await sendAnswer(user, { c: challengeId, n: next.nonce, d: "accept", a: next.approvers[0]!.id });
    const link = await waitForLink(approver.msisdn, 10_000, before);
    expect(Date.now() - pickedAt).toBeLessThan(5000); // not after the 10 s grace: at once
    expect((await env.SUBSCRIBER.getByName(approver.msisdn).device()) !== null).toBe(kept);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    expect(await pendingSettlesAt(approver.msisdn, 0)).toBe(0); // nothing left behind
  });

  it("the user accepted on the SMS link page: the app then offers the approver list, and its pick counts", async () => {
    const user = await activateDevice(freshMsisdn());
    const approver = freshMsisdn(); // no app: the approver gets the SMS link
    const before = await smsCount(user.msisdn);
    const pending = callAssisted(user.msisdn, [{ name: "Dave Desk", msisdn: approver }], 1);
    const challengeId = await waitForPush(user.sub!, 1);
    const userLink = await waitForLink(user.msisdn, 10_000, before); // after the 1 s grace
    const page = await openLink(userLink);
    const listPage = await answer(userLink, "accept", page.csrf!);
    expect(await listPage.text()).toContain("Dave Desk");

    const { body } = await fetchChallenge(user, challengeId);
    expect(body).toMatchObject({ role: "user", step: "choose_approver", approvers: [{ name: "Dave Desk" }] });
    const picked = await sendAnswer(user, { c: challengeId, n: body.nonce, d: "accept", a: body.approvers![0]!.id });
    expect(await picked.json()).toEqual({ status: "asked", approverName: "Dave Desk" });
    expect((await openLink(userLink)).html).toContain("Waiting for Dave Desk");

    const approverLink = await waitForLink(approver);
    const ap = await openLink(approverLink);
    await answer(approverLink, "accept", ap.csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("a pick of an id not offered (the user's own entry, or a forged id): INVALID_APPROVER, nobody is asked", async () => {
    for (const forged of ["0", "999"]) {
      const user = await activateDevice(freshMsisdn());
      const other = freshMsisdn();
      // The user's own number is in the list (id 0) but never offered to them.
      const pending = callAssisted(user.msisdn, [
        { name: "Self", msisdn: user.msisdn },
        { name: "Erin Sec", msisdn: other },
      ]);
      const { challengeId, next } = await userAcceptsInApp(user);
      expect(next.approvers).toEqual([{ id: "1", name: "Erin Sec" }]);
      const picked = await sendAnswer(user, { c: challengeId, n: next.nonce, d: "accept", a: forged });
      expect(picked.status).toBe(410);
      expect(await picked.json()).toEqual({ status: "finished", result: "invalid_approver" });
      expect(await codeOf(pending)).toBe("INVALID_APPROVER");
      expect(await gatewayRequests(other)).toEqual([]);
    }
  });

  it("being asked as an approver does not use up the approver's own pending-session cap", async () => {
    const { user, bob, approvers } = await setup();
    const pending = callAssisted(user.msisdn, approvers);
    await userPicksInApp(user, "Bob Helpdesk");
    const asked = await approverChallenge(bob, 1);
    expect(await env.SUBSCRIBER.getByName(bob.msisdn).pendingCount()).toBe(1);
    // Bob's own three sign-ins (the default cap) are all admitted, on a plain endpoint.
    const before = await smsCount(bob.msisdn);
    const own = [0, 1, 2].map(() => callAuth(bob.msisdn, { endpoint: "no-push", key: KEYS.noPush }));
    for (let i = 0; i < 50 && (await smsCount(bob.msisdn)) - before < 3; i++) await sleep(50);
    expect(await env.SUBSCRIBER.getByName(bob.msisdn).pendingCount()).toBe(4);
    const links = (await gatewayRequests(bob.msisdn)).slice(-3).map((r) => r.text!.match(/https?:\/\/\S+\/m\/[A-Za-z0-9_-]{43}/)![0]);
    for (const l of links) await answer(l, "reject", (await openLink(l)).csrf!);
    for (const r of own) expect(await codeOf(r)).toBe("TOUCH_REJECTED");
    await sendAnswer(bob, { c: asked.id, n: asked.body.nonce, d: "accept" });
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("the session object restarts while the approver's app is asked: the app's answer still decides", async () => {
    const { user, alice, approvers } = await setup();
    const pending = callAssisted(user.msisdn, approvers);
    await userPicksInApp(user, "Alice Admin");
    const asked = await approverChallenge(alice, 1);
    const read = await signedRead(alice, "challenge", asked.id);
    const found = await env.SUBSCRIBER.getByName(alice.msisdn).challengeSession(alice.deviceId, asked.id, read.jws);
    const session = found && "session" in found ? found.session : undefined;
    expect(session).toMatch(/^[0-9a-f]{64}$/);
    await runInDurableObject(env.AUTH_SESSION.getByName(session!), (_i, s) => s.abort("simulated restart")).catch(() => {});
    const again = await fetchChallenge(alice, asked.id); // a fresh nonce from the restarted object
    expect(again.body).toMatchObject({ role: "approver" });
    expect((await sendAnswer(alice, { c: asked.id, n: again.body.nonce, d: "accept" })).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });
});
