import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { answer, callAuth, codeOf, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import { APP_NM, activateDevice, fetchChallenge, sendAnswer, waitForPush, appRead } from "./support/authenticator-app";

describe("number matching (MFA-fatigue defence)", () => {
  it("the app offers three numbers; the one the login page shows (match-number) accepts", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { endpoint: APP_NM });
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, { ...APP_NM, params: { "match-number": "42" } });
    const c = await waitForPush(d.sub!);
    const { body } = await fetchChallenge(d, c);
    expect(body.choices).toHaveLength(3);
    expect(new Set(body.choices).size).toBe(3);
    expect(body.choices).toContain(42);
    for (const n of body.choices!) expect(n).toBeGreaterThanOrEqual(10);
    const res = await sendAnswer(d, { c, n: body.nonce, d: "accept", m: 42 });
    expect(await res.json()).toMatchObject({ status: "accepted", numberMismatch: false });
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
    // The caller shows the number, so no SMS was needed.
    expect((await gatewayRequests(msisdn)).length).toBe(smsBefore);
  });

  it("a wrong pick rejects the sign-in", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { endpoint: APP_NM });
    const pending = callAuth(msisdn, { ...APP_NM, params: { "match-number": "42" } });
    const c = await waitForPush(d.sub!);
    const { body } = await fetchChallenge(d, c);
    const wrong = body.choices!.find((n) => n !== 42)!;
    const res = await sendAnswer(d, { c, n: body.nonce, d: "accept", m: wrong });
    expect(await res.json()).toMatchObject({ status: "rejected", numberMismatch: true });
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("an Accept without a pick does not count as an approval", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { endpoint: APP_NM });
    const pending = callAuth(msisdn, { ...APP_NM, params: { "match-number": "42" } });
    const c = await waitForPush(d.sub!);
    const { body } = await fetchChallenge(d, c);
    await sendAnswer(d, { c, n: body.nonce, d: "accept" });
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("without match-number the service picks the number and shows it on the SMS link page, sent at once", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { endpoint: APP_NM });
    const smsBefore = (await gatewayRequests(msisdn)).length;
    const started = Date.now();
    const pending = callAuth(msisdn, APP_NM);
    const c = await waitForPush(d.sub!);
    const link = await waitForLink(msisdn, 10_000, smsBefore);
    expect(Date.now() - started).toBeLessThan(1500); // not waiting for the grace period
    const page = await openLink(link);
    const shown = Number(page.html.match(/id="match-number">(\d{2})</)?.[1]);
    const { body } = await fetchChallenge(d, c);
    expect(body.choices).toContain(shown);
    await sendAnswer(d, { c, n: body.nonce, d: "accept", m: shown });
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("the SMS link page shows no number when the endpoint does not match numbers", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { params: { "match-number": "42" } }); // default endpoint
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.html).not.toContain("match-number");
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it.each(["7", "100", "4x", "05"])("refuses match-number=%s as BAD_REQUEST", async (v) => {
    const res = await callAuth(freshMsisdn(), { ...APP_NM, params: { "match-number": v } });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-mfa-reason")).toBe("invalid_parameter");
  });
});

/** Taps one of the number buttons of a link page (an Accept with that pick), as the browser posts it. */
function answerPick(link: string, csrf: string, pick: number | string) {
  return exports.default.fetch(
    new Request(link, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(link).origin },
      body: new URLSearchParams({ csrf, decision: "accept", pick: String(pick) }),
    }),
  );
}

/** The number buttons a link page offers, and whether it has a one-tap Accept. */
function pageOffers(html: string) {
  return {
    picks: [...html.matchAll(/name="pick" value="(\d{2})"/g)].map((m) => Number(m[1])),
    oneTapAccept: /<button[^>]*name="decision"[^>]*value="accept"/.test(html),
  };
}

describe("number matching holds on the SMS link page too", () => {
  it("caller shows the number, SMS only: the page offers three numbers as Accept; no pick or a wrong one is TOUCH_REJECTED", async () => {
    const msisdn = freshMsisdn(); // no app: the SMS link is the only channel
    const run = async (act: (link: string, csrf: string, picks: number[]) => Promise<unknown>) => {
      const before = (await gatewayRequests(msisdn)).length;
      const pending = callAuth(msisdn, { ...APP_NM, params: { "match-number": "42" } });
      const link = await waitForLink(msisdn, 10_000, before);
      const page = await openLink(link);
      const offers = pageOffers(page.html);
      expect(offers.oneTapAccept).toBe(false);
      expect(offers.picks).toHaveLength(3);
      expect(offers.picks).toContain(42);
      expect(page.html).not.toContain('id="match-number"'); // the page must not tell which one
      await act(link, page.csrf!, offers.picks);
      return codeOf(await pending);
    };
    // The old one-tap Accept (no pick) no longer approves.
    expect(await run((link, csrf) => answer(link, "accept", csrf))).toBe("TOUCH_REJECTED");
    expect(await run((link, csrf, picks) => answerPick(link, csrf, picks.find((n) => n !== 42)!))).toBe("TOUCH_REJECTED");
    expect(await run((link, csrf) => answerPick(link, csrf, 42))).toBe("TOUCH_ACCEPTED");
    expect(await run((link, csrf) => answer(link, "reject", csrf))).toBe("TOUCH_REJECTED");
  });

  it("caller shows the number, app silent: the grace-period SMS page asks for the pick too", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { endpoint: APP_NM });
    const before = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, { ...APP_NM, params: { "match-number": "42" } });
    await waitForPush(d.sub!);
    const link = await waitForLink(msisdn, 10_000, before); // after pushGraceSeconds
    const page = await openLink(link);
    expect(pageOffers(page.html).oneTapAccept).toBe(false);
    expect(pageOffers(page.html).picks).toContain(42);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("service-picked number: the link page shows it and offers only Reject; an Accept posted there is TOUCH_REJECTED", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { endpoint: APP_NM });
    const before = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, APP_NM);
    await waitForPush(d.sub!);
    const link = await waitForLink(msisdn, 10_000, before);
    const page = await openLink(link);
    const shown = Number(page.html.match(/id="match-number">(\d{2})</)?.[1]);
    expect(shown).toBeGreaterThanOrEqual(10);
    expect(pageOffers(page.html)).toEqual({ picks: [], oneTapAccept: false });
    expect(page.html).toContain('value="reject"');
    // Even with the number it shows: knowing it there proves nothing.
    await answerPick(link, page.csrf!, shown);
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("service-picked number, push failed (device kept): the page still offers no Accept; the app opened by hand answers with the pick", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { endpoint: APP_NM, pushMode: "fail" });
    const before = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, APP_NM);
    const link = await waitForLink(msisdn, 10_000, before);
    const page = await openLink(link);
    const shown = Number(page.html.match(/id="match-number">(\d{2})</)?.[1]);
    expect(pageOffers(page.html).oneTapAccept).toBe(false);
    const listed = (await (await appRead(d, "pending")).json()) as { challenges: string[] };
    expect(listed.challenges).toHaveLength(1);
    const c = listed.challenges[0]!;
    const { body } = await fetchChallenge(d, c);
    expect(body.choices).toContain(shown);
    await sendAnswer(d, { c, n: body.nonce, d: "accept", m: shown });
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("service-picked number, device gone: a plain SMS session (nobody could show the number), logged as such", async () => {
    const msisdn = freshMsisdn();
    await activateDevice(msisdn, { endpoint: APP_NM, pushMode: "gone" });
    const before = (await gatewayRequests(msisdn)).length;
    const pending = callAuth(msisdn, APP_NM);
    const link = await waitForLink(msisdn, 10_000, before);
    const page = await openLink(link);
    expect(page.html).not.toContain("match-number");
    expect(pageOffers(page.html)).toEqual({ picks: [], oneTapAccept: true });
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });
});
