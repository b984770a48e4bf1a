import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { launchChromium } from "../support/browser.ts";
import { signInToConsole } from "../support/console.ts";
import { answerLink, devOutboxLink } from "../support/magic-link-user.ts";
import { devAdminCall } from "../support/app-browser.ts";

/**
 * Issue 15 item 1, as an operator does it in Chromium against `npm run dev`: a wrong login,
 * sign in, create an endpoint and an API token (its secret shown once), use the token on the
 * Magic Link API, revoke it, have a form from another site refused, sign out.
 */
let dev: DevServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let evil: Server;
let evilUrl: string;
const cspViolations: string[] = [];
const endpoint = `console-e2e-${Math.floor(Math.random() * 1e6)}`;

beforeAll(async () => {
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
  context = await browser.newContext();
  page = await context.newPage();
  // The console's CSP allows no inline script or style: any violation would show here.
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  // Another site (another origin and host name) whose page posts a form to the console.
  evil = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>Win a prize</title>
<form method="post" action="${dev.url}/admin/endpoints">
  <input type="hidden" name="_csrf" value="guessed-token">
  <input type="hidden" name="name" value="forged-endpoint">
  <input type="hidden" name="timeoutSeconds" value="30">
  <button type="submit">Claim prize</button>
</form>`);
  });
  await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
  evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await new Promise((r) => evil?.close(r));
});

const msisdn = () => `+4670${Math.floor(1e6 + Math.random() * 8e6)}`;
const callApi = (secret: string, number: string) =>
  fetch(`${dev.url}/api/sfwa/auth/${endpoint}?msisdn=${encodeURIComponent(number)}`, { headers: { "api-key": secret } }).then(
    async (r) => (await r.json()) as { code: string },
  );

describe("admin console in Chromium against wrangler dev", () => {
  it("refuses a wrong login with a generic error and no session", async () => {
    await page.goto(`${dev.url}/admin/login`);
    await page.fill('input[name="name"]', "demo");
    await page.fill('input[name="secret"]', "not-the-demo-token");
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('[role="alert"]').textContent()).toBe("Wrong operator name or admin token.");
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    const cookies = await context.cookies(dev.url);
    expect(cookies.map((c) => c.name)).not.toContain("__Host-edge-mfa-console");
    await page.goto(`${dev.url}/admin/endpoints`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
  });

  it("signs in with the demo operator's token: a Secure, HttpOnly, SameSite=Strict session cookie", async () => {
    await signInToConsole(page, dev.url);
    const session = (await context.cookies(dev.url)).find((c) => c.name === "__Host-edge-mfa-console");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    await page.goto(`${dev.url}/admin/endpoints`);
    expect(await page.locator("nav .who").textContent()).toBe("demo");
    // The MFA_CONFIG / demo endpoint is listed read-only.
    expect(await page.locator("td", { hasText: /^demo$/ }).count()).toBeGreaterThan(0);
  });

  let secret = "";
  it("creates an endpoint, shows a field error, then a token whose secret is shown once", async () => {
    await page.click("text=New endpoint");
    await page.fill('input[name="name"]', endpoint);
    await page.fill('input[name="timeoutSeconds"]', "5");
    await page.fill('input[name="texts.title"]', "Console e2e login");
    await page.click("text=Create endpoint");
    expect(await page.locator("#err-timeoutSeconds").textContent()).toMatch(/>=\s*15/);
    await page.fill('input[name="timeoutSeconds"]', "60");
    await page.click("text=Create endpoint");
    await page.waitForURL(`${dev.url}/admin/endpoints/${endpoint}`);
    expect(await page.locator("h1").textContent()).toBe(`Endpoint ${endpoint}`);

    await page.fill('input[name="tokenName"]', "e2e backend");
    await page.click("text=Create token");
    secret = (await page.locator("#token-secret").textContent()) ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.click(`text=Back to ${endpoint}`);
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator("tr", { hasText: "e2e backend" }).locator("td").nth(3).textContent()).toBe("active");
  });

  it("the token works on /api/sfwa/auth; revoked in the console, it is refused", async () => {
    const number = msisdn();
    const api = callApi(secret, number);
    const link = await devOutboxLink(dev.url, number);
    expect(await (await fetch(link)).text()).toContain("Console e2e login");
    await answerLink(link, "accept");
    expect(await api).toEqual({ code: "TOUCH_ACCEPTED" });

    await page.locator("tr", { hasText: "e2e backend" }).locator("button", { hasText: "Revoke" }).click();
    await page.waitForURL(`${dev.url}/admin/endpoints/${endpoint}`);
    expect(await page.locator("tr", { hasText: "e2e backend" }).locator("td").nth(3).textContent()).toBe("revoked");
    expect(await callApi(secret, msisdn())).toEqual({ code: "BAD_REQUEST" });
    // The audit log names the operator for each change.
    const audit = await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "GET", `audit?kind=admin&endpoint=${endpoint}`);
    const actions = ((audit.body?.entries ?? []) as { actor: string; action: string }[]).map((e) => `${e.actor}:${e.action}`);
    expect(actions).toEqual(expect.arrayContaining(["demo:endpoint.create", "demo:token.create", "demo:token.revoke"]));
  });

  it("refuses a form posted from another site, and nothing is created", async () => {
    const other = await context.newPage();
    await other.goto(evilUrl);
    const [response] = await Promise.all([other.waitForResponse(`${dev.url}/admin/endpoints`), other.click("text=Claim prize")]);
    expect(response.status()).toBe(403);
    await other.close();
    const listed = await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "GET", "endpoints");
    expect(((listed.body?.endpoints ?? []) as { name: string }[]).map((e) => e.name)).not.toContain("forged-endpoint");
    // The operator's own session is unharmed.
    await page.goto(`${dev.url}/admin/endpoints`);
    expect(await page.locator("nav .who").textContent()).toBe("demo");
  });

  it("signs out: back at the sign-in page, and the console is closed", async () => {
    await page.click("text=Sign out");
    await page.waitForURL(`${dev.url}/admin/login`);
    expect((await context.cookies(dev.url)).map((c) => c.name)).not.toContain("__Host-edge-mfa-console");
    await page.goto(`${dev.url}/admin/endpoints/${endpoint}`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    expect(cspViolations).toEqual([]);
  });
});
