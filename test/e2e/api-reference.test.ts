import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { launchChromium } from "../support/browser.ts";

/**
 * The dev API reference: `npm run dev`, /dev/api in a real browser, swagger-ui rendering the
 * OpenAPI document, every file from the dev server itself (no CDN, nothing third-party).
 */
let dev: DevServer;
let browser: Browser;

beforeAll(async () => {
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

describe("API reference page against wrangler dev", () => {
  it("renders every documented API's operations from /openapi.json, loading only same-origin files", async () => {
    const page = await browser.newPage();
    const origins = new Set<string>();
    const failed: string[] = [];
    page.on("request", (r) => origins.add(new URL(r.url()).origin));
    page.on("requestfailed", (r) => failed.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${dev.url}/dev/api`);
    await page.locator(".opblock").first().waitFor({ timeout: 30_000 });
    const text = (await page.locator("#swagger-ui").textContent()) ?? "";
    for (const path of ["/api/sfwa/auth", "/api/offline/totp", "/api/relay/v1/touch", "/admin/v1/endpoints"]) expect(text).toContain(path);
    expect(text).toContain("Edge MFA");
    expect([...origins]).toEqual([dev.url]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("the document is public; the page is for the dev server only", async () => {
    const doc = await fetch(`${dev.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const page = await fetch(`${dev.url}/dev/api`);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self';/);
  });
});
