import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callAuth, freshMsisdn, openLink, answer, waitForLink } from "./support/magic-link";

const get = (path: string) => exports.default.fetch(new Request(`https://mfa.example.com${path}`, { redirect: "manual" }));

describe("the authenticator web app is served by the Worker", () => {
  it("serves the shell with a strict CSP: scripts only from 'self', nothing inline", async () => {
    const res = await get("/app/");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("worker-src 'self'");
    expect(csp).toContain("manifest-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    const html = await res.text();
    // Every <script> has a same-origin src and no body.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(1);
    expect(scripts[0]![1]).toContain('src="/app/app.js"');
    expect(scripts[0]![2]).toBe("");
    expect(html).toContain('<link rel="manifest" href="/app/manifest.webmanifest"');
    expect(html).toContain(`data-vapid="${env.VAPID_PUBLIC_KEY}"`);
    expect(html).not.toMatch(/\son[a-z]+=/); // no inline event handlers
  });

  it("serves the bundle, the service worker, the manifest and the icon", async () => {
    const js = await get("/app/app.js");
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(1000);
    const sw = await get("/app/sw.js");
    expect(sw.headers.get("content-type")).toMatch(/javascript/);
    const swText = await sw.text();
    for (const handler of ['"push"', '"notificationclick"', '"install"', '"fetch"']) expect(swText).toContain(handler);
    const manifest = await get("/app/manifest.webmanifest");
    expect(manifest.headers.get("content-type")).toBe("application/manifest+json");
    const m = (await manifest.json()) as { start_url: string; scope: string; display: string; icons: Array<{ src: string }> };
    expect(m).toMatchObject({ start_url: "/app/", scope: "/app/", display: "standalone" });
    const icon = await get(m.icons[0]!.src);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(await icon.text()).toContain("<svg");
    expect((await get("/app")).headers.get("location")).toBe("/app/");
  });

  it("keeps the SMS link page script-free", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { endpoint: "app", key: "key-app-0123456789abcdef" });
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    const csp = page.res.headers.get("content-security-policy")!;
    expect(csp).not.toContain("script-src");
    expect(csp).toContain("default-src 'none'");
    expect(page.html).not.toContain("<script");
    await answer(link, "accept", page.csrf!);
    await pending;
  });
});
