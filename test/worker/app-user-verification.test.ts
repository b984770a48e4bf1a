// Accept with user verification (WebAuthn, biometric or device PIN): an endpoint with
// appApproval "user-verification" counts an app's Accept only with an assertion bound to the
// challenge, nonce and decision, from the device's own platform credential with the UV flag.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { approvalChallenge } from "../../core/user-verification";
import {
  APP_UV,
  APP_UV_TAP,
  EDGE_ORIGIN,
  activateDevice,
  appApi,
  fetchChallenge,
  requestActivation,
  sendAnswer,
  waitForPush,
  type TestDevice,
} from "./support/authenticator-app";
import { answer, callAuth, codeOf, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import { SoftwareAuthenticator } from "./support/software-authenticator";

/** A device with a platform authenticator (registered at activation) and a sign-in pushed to it. */
async function signInWithUv(endpoint = APP_UV) {
  const msisdn = freshMsisdn();
  const authenticator = new SoftwareAuthenticator(EDGE_ORIGIN);
  const d = await activateDevice(msisdn, { name: "Phone", authenticator, endpoint });
  const pending = callAuth(msisdn, endpoint);
  const challengeId = await waitForPush(d.sub!);
  return { msisdn, d, authenticator, pending, challengeId };
}

async function accept(d: TestDevice, challengeId: string, assertion?: unknown) {
  const { body } = await fetchChallenge(d, challengeId);
  return sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" }, d.keys.privateKey, assertion);
}

async function stillPending(msisdn: string): Promise<boolean> {
  return (await env.SUBSCRIBER.getByName(msisdn).pendingCount()) === 1;
}

describe("approval with user verification", () => {
  it("activation registers the platform credential; the details say an Accept needs user verification", async () => {
    const { msisdn, d, challengeId, pending } = await signInWithUv();
    expect(await env.SUBSCRIBER.getByName(msisdn).devices()).toEqual([expect.objectContaining({ userVerification: true })]);
    const { body } = await fetchChallenge(d, challengeId);
    expect(body).toMatchObject({ status: "pending", approval: "user-verification" });
    // A Reject never needs it.
    expect((await sendAnswer(d, { c: challengeId, n: body.nonce, d: "reject" })).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
  });

  it("a good assertion over the bound challenge accepts", async () => {
    const { d, authenticator, challengeId, pending } = await signInWithUv();
    const { body } = await fetchChallenge(d, challengeId);
    const assertion = await authenticator.assert(await approvalChallenge(challengeId, body.nonce, "accept"));
    const res = await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" }, d.keys.privateKey, assertion);
    expect(res.status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("no assertion, a tampered one, one with UV off, a replayed or misbound one: refused, the sign-in still pending", async () => {
    const { msisdn, d, authenticator, challengeId, pending } = await signInWithUv();
    // None.
    const none = await accept(d, challengeId);
    expect(none.status).toBe(403);
    expect(await none.json()).toEqual({ error: "uv_required" });
    expect(await stillPending(msisdn)).toBe(true);

    // Tampered signature.
    let view = (await fetchChallenge(d, challengeId)).body;
    const good = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    const sig = good.response.signature;
    const tampered = { ...good, response: { ...good.response, signature: sig.slice(0, -4) + (sig.endsWith("AAAA") ? "BBBB" : "AAAA") } };
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, tampered)).status).toBe(403);

    // The user was not verified (UV flag off): a presence tap is not enough.
    authenticator.userVerified = false;
    view = (await fetchChallenge(d, challengeId)).body;
    const unverified = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, unverified)).status).toBe(403);
    authenticator.userVerified = true;

    // Bound to another nonce (an earlier fetch) or to the other decision.
    const stale = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    view = (await fetchChallenge(d, challengeId)).body;
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, stale)).status).toBe(403);
    const forReject = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "reject"));
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, forReject)).status).toBe(403);

    // Another authenticator's (its credential was never registered for this device).
    const stranger = new SoftwareAuthenticator(EDGE_ORIGIN);
    const foreign = await stranger.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, foreign)).status).toBe(403);
    expect(await stillPending(msisdn)).toBe(true);

    // From another origin (a phishing page that got the user to verify for it).
    authenticator.origin = "https://mfa.example.com.evil.test";
    const phished = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    authenticator.origin = EDGE_ORIGIN;
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, phished)).status).toBe(403);
    expect(await stillPending(msisdn)).toBe(true);

    // Then the real thing still works.
    const ok = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, ok)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("a signature counter that does not grow (a cloned credential) is refused", async () => {
    const first = await signInWithUv();
    const { d, authenticator } = first;
    let view = (await fetchChallenge(d, first.challengeId)).body;
    const ok = await authenticator.assert(await approvalChallenge(first.challengeId, view.nonce, "accept"));
    expect((await sendAnswer(d, { c: first.challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, ok)).status).toBe(200);
    expect(await codeOf(first.pending)).toBe("TOUCH_ACCEPTED");
    const pending = callAuth(d.msisdn, APP_UV);
    const challengeId = await waitForPush(d.sub!, 2);
    view = (await fetchChallenge(d, challengeId)).body;
    authenticator.counter = 0; // the next assertion carries 1: not above the stored count
    const cloned = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, cloned)).status).toBe(403);
    expect(await stillPending(d.msisdn)).toBe(true);
    authenticator.counter = 10;
    const next = await authenticator.assert(await approvalChallenge(challengeId, view.nonce, "accept"));
    expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "accept" }, d.keys.privateKey, next)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("a device without a platform authenticator: refused under uvFallback refuse (the app is told why), a tap under uvFallback tap", async () => {
    for (const [endpoint, approval] of [
      [APP_UV, "unavailable"],
      [APP_UV_TAP, "tap"],
    ] as const) {
      const msisdn = freshMsisdn();
      const d = await activateDevice(msisdn, { endpoint });
      const pending = callAuth(msisdn, endpoint);
      const challengeId = await waitForPush(d.sub!);
      const { body } = await fetchChallenge(d, challengeId);
      expect(body.approval).toBe(approval);
      const res = await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" });
      if (approval === "tap") {
        expect(res.status).toBe(200);
        expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
      } else {
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({ error: "uv_unavailable" });
        const view = (await fetchChallenge(d, challengeId)).body;
        expect((await sendAnswer(d, { c: challengeId, n: view.nonce, d: "reject" })).status).toBe(200);
        expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
      }
    }
  });

  it("the SMS link that follows the push cannot accept: a one-tap Accept there would go around the verification", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { name: "Phone", authenticator: new SoftwareAuthenticator(EDGE_ORIGIN), endpoint: APP_UV });
    const before = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, APP_UV);
    await waitForPush(d.sub!);
    // The push was not answered: after the grace period the SMS link goes out, as a fallback.
    const link = await waitForLink(msisdn, 10_000, before);
    const page = await openLink(link);
    expect(page.res.status).toBe(200);
    expect(page.html).toContain('id="approve-in-app"');
    expect(page.html).not.toMatch(/name="decision" value="accept"/);
    expect(page.html).toMatch(/name="decision" value="reject"/);
    // An Accept posted anyway (the form is easy to write by hand) does not count: it rejects.
    expect((await answer(link, "accept", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
  });

  it("a number whose app cannot verify its user keeps the link's Accept (uvFallback tap: a tap is the bar anyway)", async () => {
    const msisdn = freshMsisdn();
    await activateDevice(msisdn, { endpoint: APP_UV_TAP });
    const before = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, APP_UV_TAP);
    const link = await waitForLink(msisdn, 10_000, before);
    const page = await openLink(link);
    expect(page.html).not.toContain('id="approve-in-app"');
    expect((await answer(link, "accept", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("activation refuses a registration that does not verify (UV off, another origin, another challenge), and activates nothing", async () => {
    const cases: Array<(options: { challenge: string }) => Promise<unknown>> = [
      (options) => Object.assign(new SoftwareAuthenticator(EDGE_ORIGIN), { userVerified: false }).register(options),
      (options) => new SoftwareAuthenticator("https://evil.test").register(options),
      () => new SoftwareAuthenticator(EDGE_ORIGIN).register({ challenge: "QUFBQQ" }),
    ];
    for (const registration of cases) {
      const msisdn = freshMsisdn();
      const attempt = await requestActivation(msisdn, { name: "Phone", registration });
      expect(attempt.res.status).toBe(400);
      expect(await attempt.res.json()).toEqual({ error: "webauthn_invalid" });
      await attempt.finish();
      expect(await env.SUBSCRIBER.getByName(msisdn).devices()).toEqual([]);
    }
  });

  it("registration options only for a live activation token: a platform credential with UV, rpID the edge's host", async () => {
    expect((await appApi("registration-options", { msisdn: freshMsisdn(), token: "A".repeat(43) })).status).toBe(403);
    let seen: Record<string, unknown> = {};
    const authenticator = new SoftwareAuthenticator(EDGE_ORIGIN);
    const attempt = await requestActivation(freshMsisdn(), {
      registration: async (options) => {
        seen = options;
        return authenticator.register(options);
      },
    });
    expect(attempt.res.status).toBe(200);
    await attempt.finish();
    expect(seen).toMatchObject({
      rp: { id: "mfa.example.com" },
      authenticatorSelection: { authenticatorAttachment: "platform", userVerification: "required" },
      attestation: "none",
    });
    expect(JSON.stringify(seen)).not.toContain(attempt.body.msisdn); // the number only masked
  });
});
