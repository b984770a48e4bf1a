import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { randomToken } from "../../core/tokens";
import { answer, callAuth, freshMsisdn, openLink, waitForLink } from "./support/magic-link";

async function startSession(params: Record<string, string> = {}) {
  const msisdn = freshMsisdn();
  const pending = callAuth(msisdn, { params });
  const link = await waitForLink(msisdn);
  return { msisdn, pending, link };
}

describe("approval page", () => {
  it("is single use: a second answer is refused and the result stays the first one", async () => {
    const { pending, link } = await startSession();
    const page = await openLink(link);
    const first = await answer(link, "reject", page.csrf!);
    expect(first.status).toBe(200);
    const second = await answer(link, "accept", page.csrf!);
    expect(second.status).toBe(410);
    expect(await second.text()).toContain("already been answered");
    expect(await (await pending).json()).toEqual({ code: "TOUCH_REJECTED" });
    const reopened = await openLink(link);
    expect(reopened.res.status).toBe(410);
    expect(reopened.csrf).toBeNull();
  });

  it("refuses a POST without the page's CSRF token, and one from another origin", async () => {
    const { pending, link } = await startSession();
    const page = await openLink(link);
    const wrongToken = await answer(link, "accept", "forged-token");
    expect(wrongToken.status).toBe(403);
    const crossSite = await answer(link, "accept", page.csrf!, "https://evil.example");
    expect(crossSite.status).toBe(403);
    const noOrigin = await exports.default.fetch(
      new Request(link, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ decision: "accept", csrf: page.csrf! }),
      }),
    );
    expect(noOrigin.status).toBe(403);
    const garbage = await answer(link, "maybe" as "accept", page.csrf!);
    expect(garbage.status).toBe(400);
    // None of these decided anything: the real answer still counts.
    expect((await answer(link, "accept", page.csrf!)).status).toBe(200);
    expect(await (await pending).json()).toEqual({ code: "TOUCH_ACCEPTED" });
  });

  it("sends security headers: CSP without scripts, no-store, no-referrer, no framing", async () => {
    const { pending, link } = await startSession();
    const page = await openLink(link);
    const h = page.res.headers;
    const csp = h.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain("script-src");
    expect(h.get("cache-control")).toBe("no-store");
    expect(h.get("referrer-policy")).toBe("no-referrer");
    expect(h.get("x-frame-options")).toBe("DENY");
    expect(h.get("x-content-type-options")).toBe("nosniff");
    expect(page.html).toContain('<meta name="viewport"');
    await answer(link, "accept", page.csrf!);
    await pending;
  });

  it("escapes caller-supplied texts (no HTML injection)", async () => {
    const { pending, link } = await startSession({
      "title-text": "<script>alert(1)</script>",
      "authentication-text": '"><img src=x onerror=alert(1)>',
      "button-accept-text": "</button><a href=//evil>",
    });
    const page = await openLink(link);
    expect(page.html).not.toContain("<script>alert(1)</script>");
    expect(page.html).not.toContain("<img src=x");
    expect(page.html).not.toContain("<a href=//evil>");
    expect(page.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    await answer(link, "reject", page.csrf!);
    await pending;
  });

  it("shows a clear 404 page for unknown and malformed links", async () => {
    for (const path of [`/m/${randomToken()}`, "/m/not-a-token", "/m/%3Cscript%3E"]) {
      const res = await exports.default.fetch(new Request(`https://mfa.example.com${path}`));
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain("This link is not valid or has expired.");
      expect(html).not.toContain("<script>");
    }
  });

  it("serves the stylesheet the CSP allows", async () => {
    const res = await exports.default.fetch(new Request("https://mfa.example.com/assets/app.css"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/css/);
  });
});
