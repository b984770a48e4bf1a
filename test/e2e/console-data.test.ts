import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_TOKEN, DEMO_API_KEY } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { FAKE_PUSH_CERT_PATH, startFakePushService, type FakePushService } from "../../harness/fake-push-service.ts";
import { launchChromium } from "../support/browser.ts";
import { devAdminCall, phoneContext } from "../support/app-browser.ts";
import { answerLink, devOutboxLink, fromDevOutbox } from "../support/magic-link-user.ts";

/**
 * The admin console's data pages in Chromium against `npm run dev`, as an operator uses them:
 * sign in on the real login page (demo operator "demo" with the demo admin token), read the
 * dashboard's chart.js charts after real Magic Link calls, filter and page the audit log, and
 * revoke a device a user activated in the authenticator app. The dev server's database is fresh
 * (its own state directory), so the figures are this file's calls.
 */
let dev: DevServer;
let browser: Browser;
let push: FakePushService;
let operator: BrowserContext;
let page: Page;
/** Content-Security-Policy violations and script errors the console's pages raised (not a missing favicon's 404). */
const pageErrors: string[] = [];

beforeAll(async () => {
  push = await startFakePushService();
  process.env.NODE_EXTRA_CA_CERTS = FAKE_PUSH_CERT_PATH;
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
  operator = await browser.newContext({ baseURL: dev.url });
  page = await operator.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await push?.close();
});

const freshMsisdn = () => `+4670${Math.floor(1e6 + Math.random() * 8e6)}`;
const demoAuth = (msisdn: string, key = DEMO_API_KEY) =>
  fetch(`${dev.url}/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}`, { headers: { "api-key": key } }).then(
    async (r) => (await r.json()) as { code: string },
  );

/** One Magic Link sign-in on the demo endpoint, answered on its link page. */
async function signInAnswered(decision: "accept" | "reject"): Promise<string> {
  const msisdn = freshMsisdn();
  const call = demoAuth(msisdn);
  expect(await answerLink(await devOutboxLink(dev.url, msisdn), decision)).toBe(200);
  return (await call).code;
}

/** The little of a canvas the check reads (this file is typed for Node, not the DOM). */
interface CanvasLike {
  dataset: Record<string, string | undefined>;
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/** What chart.js drew on a canvas: the series labels and their sums (recorded by client/console-charts.ts), and whether it painted. */
async function drawn(id: string): Promise<{ series: string[]; totals: number[]; painted: boolean }> {
  return page.evaluate((canvasId) => {
    const doc = (globalThis as unknown as { document: { getElementById(id: string): CanvasLike | null } }).document;
    const c = doc.getElementById(canvasId);
    if (!c?.dataset.series) return { series: [], totals: [], painted: false };
    const pixels = c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data ?? [];
    let painted = false;
    for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted = true;
    return { series: JSON.parse(c.dataset.series) as string[], totals: JSON.parse(c.dataset.totals ?? "[]") as number[], painted };
  }, id);
}

const SERIES = ["Accepted", "Rejected", "Not responded", "Failed delivery", "Bad request", "Other"];
const auditRows = () => page.locator("table.audit tbody tr");

describe("admin console data pages in Chromium", () => {
  it("signs in on the login page", async () => {
    await page.goto("/admin/login");
    await page.locator('input[name="name"]').fill("demo");
    await page.locator('input[name="secret"]').fill(DEMO_ADMIN_TOKEN);
    await page.locator('form:has(input[name="secret"]) button').click();
    await page.waitForLoadState();
    await page.goto("/admin/");
    expect(new URL(page.url()).pathname).toBe("/admin/");
    await expect.poll(() => page.locator("h1").textContent()).toBe("Dashboard");
  });

  it("the dashboard draws chart.js charts of real calls: by result, and latency percentiles", async () => {
    expect(await signInAnswered("accept")).toBe("TOUCH_ACCEPTED");
    expect(await signInAnswered("accept")).toBe("TOUCH_ACCEPTED");
    expect(await signInAnswered("reject")).toBe("TOUCH_REJECTED");
    // A call with a wrong key: refused before any SMS, counted as a bad request.
    expect(await demoAuth(freshMsisdn(), "00000000-0000-4000-8000-000000000000")).toEqual({ code: "BAD_REQUEST" });

    // Audit rows are written after the answer: read until they are all in.
    await expect
      .poll(
        async () => {
          await page.goto("/admin/");
          return (await drawn("chart-day-counts")).totals;
        },
        { timeout: 20_000 },
      )
      .toEqual([2, 1, 0, 0, 1, 0]);
    const day = await drawn("chart-day-counts");
    expect(day.series).toEqual(SERIES);
    expect(day.painted).toBe(true);
    const week = await drawn("chart-week-counts");
    expect(week.series).toEqual(SERIES);
    expect(week.totals).toEqual([2, 1, 0, 0, 1, 0]);
    const latency = await drawn("chart-day-latency");
    expect(latency.series).toEqual(["p50", "p95", "p99"]);
    expect(latency.painted).toBe(true);
    expect(latency.totals.every((t) => t > 0)).toBe(true);
    expect((await drawn("chart-week-latency")).series).toEqual(["p50", "p95", "p99"]);
    // The same figures without JavaScript: the totals row of the day's table.
    await page.locator("summary", { hasText: "Figures, last 24 hours" }).click();
    expect(await page.locator('#table-day tfoot td[data-series="accepted"]').textContent()).toBe("2");
    expect(pageErrors).toEqual([]);
  });

  it("the audit log filters by kind and result, and pages older and newer", async () => {
    await page.goto("/admin/audit");
    await page.locator("#kind").selectOption("auth");
    await page.locator("#result").selectOption("TOUCH_ACCEPTED");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => auditRows().count()).toBe(2);
    expect(await page.locator("table.audit tbody").textContent()).not.toContain("TOUCH_REJECTED");

    // 55 admin changes by the API under the demo operator, then page through them.
    const endpoint = `paging-${Date.now()}`;
    expect((await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "POST", "endpoints", { name: endpoint })).status).toBe(201);
    for (let i = 0; i < 55; i++) {
      const patched = await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "PATCH", `endpoints/${endpoint}`, { texts: { title: `t${i}` } });
      expect(patched.status).toBe(200);
    }
    await page.goto("/admin/audit");
    await page.locator("#endpoint").fill(endpoint);
    await page.locator("#action").fill("endpoint.update");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => auditRows().count()).toBe(50);
    const first = await auditRows().evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")));
    await page.getByRole("link", { name: "Older" }).first().click();
    await expect.poll(() => auditRows().count()).toBe(5);
    const second = await auditRows().evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")));
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    expect(await page.getByRole("link", { name: "Older" }).count()).toBe(0);
    await page.getByRole("link", { name: "Newer" }).first().click();
    await expect.poll(() => auditRows().evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")))).toEqual(first);
  });

  it("revokes a device the user activated in the app; the audit log names the operator", async () => {
    // The user activates the authenticator app from a sign-in's link page (then rejects that sign-in).
    const endpoint = `console-${Date.now()}`;
    const created = await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "POST", "endpoints", { name: endpoint, enableActivation: true });
    expect(created.status).toBe(201);
    const key = (await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "POST", `endpoints/${endpoint}/tokens`, { name: "e2e" })).body
      ?.secret as string;
    const msisdn = freshMsisdn();
    const signIn = fetch(`${dev.url}/api/sfwa/auth/${endpoint}?msisdn=${encodeURIComponent(msisdn)}`, { headers: { "api-key": key } });
    const phone = await phoneContext(browser, dev.url, await push.subscribe("ok"));
    const app = await phone.newPage();
    await app.goto(await fromDevOutbox(dev.url, msisdn, (m) => m.link || undefined));
    await app.getByRole("button", { name: "Use the app on this phone" }).click();
    await expect.poll(() => app.locator("#activate-msisdn").textContent()).toBe(msisdn);
    await app.locator("#activate-name").fill("Work phone");
    await app.locator("#activate-code").fill(await fromDevOutbox(dev.url, msisdn, (m) => m.text.match(/activation code is (\d{6})/)?.[1]));
    await app.getByRole("button", { name: "Activate" }).click();
    await expect.poll(() => app.locator("#result-title").textContent(), { timeout: 15_000 }).toBe("Activated");
    await app.goto(await fromDevOutbox(dev.url, msisdn, (m) => m.link || undefined));
    await app.getByRole("button", { name: "Reject" }).click();
    expect((await signIn).status).toBe(200);

    // The operator looks the number up and revokes the device.
    await page.goto("/admin/subscribers");
    await page.locator("#msisdn").fill(msisdn);
    await page.getByRole("button", { name: "Look up" }).click();
    const row = page.locator("tr[data-device]", { hasText: "Work phone" });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => page.locator('[role="status"]').textContent()).toBe("Device revoked.");
    expect(await page.locator("tr[data-device]").count()).toBe(0);
    const listed = await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "GET", `subscribers/${encodeURIComponent(msisdn)}`);
    expect(listed.body?.devices).toEqual([]);

    await page.goto("/admin/audit?action=device.revoke");
    await expect.poll(() => auditRows().count()).toBe(1);
    expect(await auditRows().locator("td").nth(8).textContent()).toBe("demo");
    expect(await auditRows().textContent()).toContain("Work phone");
    await phone.close();
    expect(pageErrors).toEqual([]);
  });
});
