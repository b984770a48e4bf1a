import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/tokens";
import { ADMIN_TOKEN } from "../support/keys";
import { ABSOLUTE_MS, IDLE_MS } from "../../workers/domain/console-session";
import { LOGIN_PER_IP, LOGIN_PER_NAME } from "../../workers/domain/console-login";
import { ConsoleBrowser, ORIGIN, signedIn } from "./support/console";

/** Issue 15 item 1: signing in to the admin console, its session and its limits. */

const SESSION_COOKIE = "__Host-edge-mfa-console";
const sessionRow = async (id: string) =>
  env.DB.prepare("SELECT * FROM console_sessions WHERE id_sha256 = ?")
    .bind(await sha256Hex(id))
    .first<{ operator: string; created_at: number; last_seen_at: number }>();

describe("console sign-in", () => {
  it("sends a visitor without a session to the sign-in page, which has the contracted form", async () => {
    const b = new ConsoleBrowser();
    const bare = await b.get("/admin");
    expect(bare.status).toBe(308);
    expect(bare.location).toBe("/admin/");
    expect((await b.get("/admin/")).location).toBe("/admin/login");
    const res = await b.get("/admin/endpoints");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/admin/login");
    const login = await b.get("/admin/login");
    expect(login.status).toBe(200);
    expect(login.html).toMatch(/<input[^>]*name="name"/);
    expect(login.html).toMatch(/<input[^>]*type="password"[^>]*name="secret"/);
    expect(login.html.match(/<button[^>]*type="submit"/g)).toHaveLength(1);
    // Login CSRF: the form's token pairs with a __Host- cookie.
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith("__Host-edge-mfa-console-login="));
    expect(cookie).toMatch(/; Path=\/;.*HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(b.csrfToken()).toBe(b.cookies.get("__Host-edge-mfa-console-login"));
    // The console's CSP: same-origin script and style only.
    const csp = login.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    // Same-origin referrers, so a browser's form post carries the real Origin (not "null").
    expect(login.headers.get("referrer-policy")).toBe("same-origin");
  });

  it("signs an operator in with their named admin token: a __Host- session cookie, only its hash stored", async () => {
    const b = new ConsoleBrowser();
    const res = await b.signIn();
    expect(res.status).toBe(303);
    expect(res.location).toBe("/admin/");
    const set = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? "";
    expect(set).toMatch(/; Path=\/;/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).not.toMatch(/Domain=/i);
    const id = b.cookies.get(SESSION_COOKIE) ?? "";
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await sessionRow(id))?.operator).toBe("default");
    const stored = await env.DB.prepare("SELECT id_sha256 FROM console_sessions").all<{ id_sha256: string }>();
    expect(stored.results.map((r) => r.id_sha256)).not.toContain(id);
    const page = await b.get("/admin/endpoints");
    expect(page.status).toBe(200);
    expect(page.html).toContain("default");
    const audit = await env.DB.prepare("SELECT actor FROM audit_log WHERE action = 'console.login' ORDER BY id DESC LIMIT 1").first();
    expect(audit).toEqual({ actor: "default" });
  });

  it("accepts any ADMIN_TOKENS operator under their own name; a token of another name does not sign in", async () => {
    const alice = "alice-token-0123456789";
    const tokens = JSON.stringify([{ name: "alice", sha256: await sha256Hex(alice) }]);
    const b = new ConsoleBrowser({ ADMIN_TOKENS: tokens });
    expect((await b.signIn("alice", alice)).status).toBe(303);
    expect((await b.get("/admin/endpoints")).html).toContain("alice");
    // The right secret under the wrong name (and the reverse) is a wrong login.
    expect((await new ConsoleBrowser({ ADMIN_TOKENS: tokens }).signIn("default", alice)).status).toBe(401);
    expect((await new ConsoleBrowser({ ADMIN_TOKENS: tokens }).signIn("alice", ADMIN_TOKEN)).status).toBe(401);
  });

  it("answers every wrong login alike, audits it for real names without the secret", async () => {
    const wrongSecret = new ConsoleBrowser();
    const a = await wrongSecret.signIn("default", "not-the-token-4711");
    const wrongName = new ConsoleBrowser();
    const b = await wrongName.signIn("nobody", ADMIN_TOKEN);
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(a.html).toContain("Wrong operator name or admin token.");
    expect(a.html.replace(/value="[^"]*"/g, "")).toBe(b.html.replace(/value="[^"]*"/g, ""));
    expect(wrongSecret.cookies.has(SESSION_COOKIE)).toBe(false);
    const rows = await env.DB.prepare("SELECT actor, detail FROM audit_log WHERE action = 'console.login_failed'").all<{
      actor: string;
      detail: string;
    }>();
    expect(rows.results.some((r) => r.actor === "default")).toBe(true);
    expect(rows.results.some((r) => r.actor === "nobody")).toBe(false);
    expect(JSON.stringify(rows.results)).not.toContain("not-the-token-4711");
  });

  it("refuses a sign-in form without the login cookie's token, or posted from another origin", async () => {
    const noCookie = new ConsoleBrowser();
    expect((await noCookie.request("POST", "/admin/login", { form: { name: "default", secret: ADMIN_TOKEN } })).status).toBe(403);
    const forged = new ConsoleBrowser();
    await forged.get("/admin/login");
    expect((await forged.post("/admin/login", { name: "default", secret: ADMIN_TOKEN, _csrf: "x".repeat(43) })).status).toBe(403);
    const crossSite = new ConsoleBrowser();
    await crossSite.get("/admin/login");
    const res = await crossSite.post(
      "/admin/login",
      { name: "default", secret: ADMIN_TOKEN },
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    );
    expect(res.status).toBe(403);
    expect(crossSite.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it("caps guesses per operator name, across addresses, before the token is checked", async () => {
    const alice = "alice-limit-0123456789";
    const tokens = JSON.stringify([{ name: "limited", sha256: await sha256Hex(alice) }]);
    for (let i = 0; i < LOGIN_PER_NAME.perMinute; i++) {
      expect((await new ConsoleBrowser({ ADMIN_TOKENS: tokens }).signIn("limited", `guess-${i}`)).status).toBe(401);
    }
    // From a fresh address, even the right token is refused now.
    const res = await new ConsoleBrowser({ ADMIN_TOKENS: tokens }).signIn("limited", alice);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(res.html).toContain("Too many sign-in attempts");
  });

  it("caps guesses per client address, across names", async () => {
    const b = new ConsoleBrowser();
    await b.get("/admin/login");
    for (let i = 0; i < LOGIN_PER_IP.perMinute; i++) {
      expect((await b.post("/admin/login", { name: `guess${i}`, secret: "x" })).status).toBe(401);
    }
    expect((await b.post("/admin/login", { name: "default", secret: ADMIN_TOKEN })).status).toBe(429);
  });

  it("signs out: the session row is deleted and the old cookie is worthless", async () => {
    const b = await signedIn();
    const id = b.cookies.get(SESSION_COOKIE) ?? "";
    const out = await b.post("/admin/logout");
    expect(out.status).toBe(303);
    expect(out.location).toBe("/admin/login");
    expect(await sessionRow(id)).toBeNull();
    expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
    b.cookies.set(SESSION_COOKIE, id); // a copy kept from before
    expect((await b.get("/admin/endpoints")).location).toBe("/admin/login");
  });

  it("ends a session whose admin token was removed or rotated, or that Access vouched for once Access is off", async () => {
    const removed = await signedIn();
    const removedId = removed.cookies.get(SESSION_COOKIE) ?? "";
    expect((await removed.get("/admin/endpoints")).status).toBe(200);
    removed.envOverrides.ADMIN_TOKENS = JSON.stringify([{ name: "someone-else", sha256: await sha256Hex("other-secret") }]);
    expect((await removed.get("/admin/endpoints")).location).toBe("/admin/login");
    expect(await sessionRow(removedId)).toBeNull();

    // Same name, new token (the old one leaked): the old token's session is over.
    const rotated = await signedIn();
    rotated.envOverrides.ADMIN_TOKENS = JSON.stringify([{ name: rotated.operator, sha256: await sha256Hex("the-new-secret") }]);
    expect((await rotated.get("/admin/endpoints")).location).toBe("/admin/login");
    expect((await rotated.post("/admin/endpoints", { name: "x" })).status).toBe(403);

    // A session row that no admin token signed in (as Cloudflare Access leaves them), in password mode.
    const planted = await signedIn();
    const plantedId = await sha256Hex(planted.cookies.get(SESSION_COOKIE) ?? "");
    await env.DB.prepare("UPDATE console_sessions SET credential = NULL WHERE id_sha256 = ?").bind(plantedId).run();
    expect((await planted.get("/admin/endpoints")).location).toBe("/admin/login");
  });

  it("ends a session after the idle limit and after the absolute limit", async () => {
    const idle = await signedIn();
    const idleId = await sha256Hex(idle.cookies.get(SESSION_COOKIE) ?? "");
    await env.DB.prepare("UPDATE console_sessions SET last_seen_at = ? WHERE id_sha256 = ?")
      .bind(Date.now() - IDLE_MS - 1000, idleId)
      .run();
    expect((await idle.get("/admin/endpoints")).location).toBe("/admin/login");

    const old = await signedIn();
    const oldId = await sha256Hex(old.cookies.get(SESSION_COOKIE) ?? "");
    // In use all along (recently seen), but started too long ago.
    await env.DB.prepare("UPDATE console_sessions SET created_at = ?, last_seen_at = ? WHERE id_sha256 = ?")
      .bind(Date.now() - ABSOLUTE_MS - 1000, Date.now() - 1000, oldId)
      .run();
    expect((await old.get("/admin/endpoints")).location).toBe("/admin/login");
    expect(await env.DB.prepare("SELECT 1 FROM console_sessions WHERE id_sha256 IN (?, ?)").bind(idleId, oldId).first()).toBeNull();

    // Activity within the idle limit keeps a session going.
    const active = await signedIn();
    const activeId = await sha256Hex(active.cookies.get(SESSION_COOKIE) ?? "");
    await env.DB.prepare("UPDATE console_sessions SET last_seen_at = ? WHERE id_sha256 = ?")
      .bind(Date.now() - IDLE_MS + 60_000, activeId)
      .run();
    expect((await active.get("/admin/endpoints")).status).toBe(200);
    const row = await env.DB.prepare("SELECT last_seen_at FROM console_sessions WHERE id_sha256 = ?")
      .bind(activeId)
      .first<{ last_seen_at: number }>();
    expect(row?.last_seen_at).toBeGreaterThan(Date.now() - 10_000);
  });

  it("rejects a forged or malformed session cookie", async () => {
    const b = new ConsoleBrowser();
    b.cookies.set(SESSION_COOKIE, "A".repeat(43));
    expect((await b.get("/admin/endpoints")).location).toBe("/admin/login");
    b.cookies.set(SESSION_COOKIE, "'; DROP TABLE console_sessions; --");
    expect((await b.get("/admin/endpoints")).location).toBe("/admin/login");
  });
});

describe("console and the admin API", () => {
  it("a console session is no credential for /admin/v1; the bearer API works as before", async () => {
    const b = await signedIn();
    const withCookie = await b.get("/admin/v1/endpoints");
    expect(withCookie.status).toBe(401);
    const posted = await b.request("POST", "/admin/v1/endpoints", {
      headers: { "content-type": "application/json", ...b.cookieHeader() },
    });
    expect(posted.status).toBe(401);
    const bearer = await b.get("/admin/v1/endpoints", { authorization: `Bearer ${ADMIN_TOKEN}`, cookie: "" });
    expect(bearer.status).toBe(200);
    expect(JSON.parse(bearer.html)).toHaveProperty("endpoints");
    // An unknown admin API path stays the API's (a 404), never the console's sign-in redirect.
    const unknown = await b.get("/admin/v1/nothing-here", { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(unknown.status).toBe(404);
    expect(unknown.location).toBeNull();
    expect(ORIGIN).toBe("https://mfa.example.com");
  });
});
