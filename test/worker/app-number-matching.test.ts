import { describe, expect, it } from "vitest";
import { answer, callAuth, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./helpers";
import { APP_NM, activateDevice, fetchChallenge, sendAnswer, waitForPush } from "./app-helpers";

const codeOf = async (res: Response) => ((await res.json()) as { code: string }).code;

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
