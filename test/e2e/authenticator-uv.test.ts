import type { Browser, CDPSession } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { FAKE_PUSH_CERT_PATH, startFakePushService, type FakePushService } from "../../harness/fake-push-service.ts";
import { devAdminCall, phoneContext } from "../support/app-browser.ts";
import { fromDevOutbox } from "../support/magic-link-user.ts";

/**
 * Approval with user verification in a real browser against `npm run dev`: Chromium's virtual
 * WebAuthn authenticator (DevTools protocol) stands in for a phone's fingerprint reader. The
 * app registers a platform credential at activation; on an endpoint with appApproval
 * "user-verification" an Accept needs the user verified; a failed verification or a tampered
 * assertion is refused and the sign-in stays open. WebAuthn needs a domain, not an IP, so the
 * browser uses http://localhost (a loopback host, as demo mode requires).
 */
let dev: DevServer;
let browser: Browser;
let push: FakePushService;
let base: string;

beforeAll(async () => {
  push = await startFakePushService();
  process.env.NODE_EXTRA_CA_CERTS = FAKE_PUSH_CERT_PATH;
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
  base = dev.url.replace("127.0.0.1", "localhost");
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await push?.close();
});

async function pushedChallenge(subId: string, count: number): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const got = push.received.filter((r) => r.subscription === subId);
    if (got.length >= count) return (JSON.parse(got[count - 1]?.payload ?? "{}") as { c: string }).c;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no push arrived at the fake push service");
}

/** A browser profile with a push subscription at the fake service, and a virtual platform authenticator. */
async function phoneWithAuthenticator(sub: { endpoint: string; keys: unknown }) {
  const context = await phoneContext(browser, base, sub);
  const page = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

describe("approval with user verification in Chromium (virtual authenticator)", () => {
  it("activation registers a credential; Accept with UV works; a failed verification and a tampered assertion are refused", async () => {
    const endpoint = `uv-${Date.now()}`;
    const created = await devAdminCall(base, DEMO_ADMIN_TOKEN, "POST", "endpoints", {
      name: endpoint,
      texts: { title: "Payroll" },
      enableActivation: true,
      appApproval: "user-verification",
      uvFallback: "refuse",
      pushGraceSeconds: 60,
    });
    expect(created.status).toBe(201);
    const key = (await devAdminCall(base, DEMO_ADMIN_TOKEN, "POST", `endpoints/${endpoint}/tokens`, { name: "e2e" })).body
      ?.secret as string;
    const signIn = (msisdn: string) =>
      fetch(`${base}/api/sfwa/auth/${endpoint}?msisdn=${encodeURIComponent(msisdn)}`, { headers: { "api-key": key } }).then(async (r) => ({
        status: r.status,
        body: await r.json(),
      }));

    const msisdn = `+4670${Math.floor(1e6 + Math.random() * 8e6)}`;
    const sub = await push.subscribe("ok");
    const { context, page, cdp, authenticatorId } = await phoneWithAuthenticator(sub);

    // 1. Activation from the SMS link page, with a name; the platform credential is registered.
    const first = signIn(msisdn);
    await page.goto(await fromDevOutbox(base, msisdn, (m) => m.link || undefined));
    await page.getByRole("button", { name: "Use the app on this phone" }).click();
    await expect.poll(() => page.locator("#activate-msisdn").textContent()).toBe(msisdn);
    expect(await page.locator("#activate-no-uv").isVisible()).toBe(false); // this device can verify its user
    expect(await page.locator("#activate-name").inputValue()).toMatch(/Chrome/);
    await page.locator("#activate-name").fill("Work phone");
    await page.locator("#activate-code").fill(await fromDevOutbox(base, msisdn, (m) => m.text.match(/activation code is (\d{6})/)?.[1]));
    await page.getByRole("button", { name: "Activate" }).click();
    await expect.poll(() => page.locator("#result-title").textContent(), { timeout: 15_000 }).toBe("Activated");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    const shown = await devAdminCall(base, DEMO_ADMIN_TOKEN, "GET", `subscribers/${encodeURIComponent(msisdn)}`);
    expect(shown.body?.devices).toEqual([expect.objectContaining({ name: "Work phone", userVerification: true })]);
    await page.goto(await fromDevOutbox(base, msisdn, (m) => m.link || undefined));
    await page.getByRole("button", { name: "Reject" }).click();
    expect(await first).toEqual({ status: 200, body: { code: "TOUCH_REJECTED" } });

    // 2. A pushed sign-in: the Accept asks the authenticator, which verifies the user.
    const second = signIn(msisdn);
    await page.goto(`/app/#c=${await pushedChallenge(sub.id, 1)}`);
    await expect.poll(() => page.locator("#ch-title").textContent()).toBe("Payroll");
    expect(await page.locator("#ch-uv-note").textContent()).toContain("fingerprint, face or device PIN");
    await page.locator("#ch-accept").click();
    await expect.poll(() => page.locator("#result-title").textContent()).toBe("Approved");
    expect(await second).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });
    await page.getByRole("button", { name: "Done" }).click();

    // 3. The user is not verified: nothing is approved, the sign-in stays open.
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    let settled = false;
    const third = signIn(msisdn);
    void third.then(() => (settled = true));
    await page.goto(`/app/#c=${await pushedChallenge(sub.id, 2)}`);
    await expect.poll(() => page.locator("#ch-title").textContent()).toBe("Payroll");
    await page.locator("#ch-accept").click();
    await expect.poll(() => page.locator("#error").textContent(), { timeout: 15_000 }).toContain("Not confirmed");
    expect(settled).toBe(false);

    // 4. A tampered assertion reaches the edge: refused (403 uv_required), still open.
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });
    await page.route("**/app/api/answer", async (route) => {
      const body = JSON.parse(route.request().postData() ?? "{}") as { webauthn?: { response: { signature: string } } };
      if (body.webauthn) body.webauthn.response.signature = `${body.webauthn.response.signature.slice(0, -6)}AAAAAA`;
      await route.continue({ postData: JSON.stringify(body) });
    });
    const refused = page.waitForResponse("**/app/api/answer");
    await page.locator("#ch-accept").click();
    const answer = await refused;
    expect(answer.status()).toBe(403);
    expect(await answer.json()).toEqual({ error: "uv_required" });
    await expect.poll(() => page.locator("#error").textContent()).toContain("Nothing was approved yet");
    expect(settled).toBe(false);

    // 5. Verified again and untampered: the same request is approved.
    await page.unroute("**/app/api/answer");
    await page.locator("#ch-accept").click();
    await expect.poll(() => page.locator("#result-title").textContent()).toBe("Approved");
    expect(await third).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });
    await context.close();
  });
});
