import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../support/keys";
import { KEYS, answer, callAuth, codeOf, freshMsisdn, openLink, waitForLink } from "./support/magic-link";

/**
 * Reliability: hostile input to every HTTP route. Whatever arrives, the answer is a clean
 * 4xx (never a 500, never a hang), and nothing a caller sends is rendered unescaped.
 */
const BASE = "https://mfa.example.com";
const get = (path: string, headers: Record<string, string> = {}) => exports.default.fetch(new Request(`${BASE}${path}`, { headers }));
const send = (method: string, path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(`${BASE}${path}`, { method, body, headers }));
const huge = (n: number) => "A".repeat(n);

describe("Magic Link API", () => {
  const key = { "api-key": KEYS.default };
  it.each([
    ["oversized msisdn", `/api/sfwa/auth?msisdn=${huge(10_000)}`],
    ["oversized text", `/api/sfwa/auth?msisdn=%2B46701234567&authentication-text=${huge(100_000)}`],
    ["NUL in text", "/api/sfwa/auth?msisdn=%2B46701234567&title-text=a%00b"],
    ["non-numeric timeout", "/api/sfwa/auth?msisdn=%2B46701234567&touch-timeout=1e2"],
    ["hex timeout", "/api/sfwa/auth?msisdn=%2B46701234567&touch-timeout=0x20"],
    ["negative timeout", "/api/sfwa/auth?msisdn=%2B46701234567&touch-timeout=-30"],
    ["empty msisdn", "/api/sfwa/auth?msisdn="],
    ["msisdn with unicode digits", "/api/sfwa/auth?msisdn=%2B%D9%A4%D9%A6701234567"],
    ["msisdn injection", "/api/sfwa/auth?msisdn=%2B46701234567%27%3B--"],
    ["SQL in endpoint name", "/api/sfwa/auth/x%27%20OR%201%3D1--?msisdn=%2B46701234567"],
    ["overlong endpoint name", `/api/sfwa/auth/${huge(500)}?msisdn=%2B46701234567`],
    ["path traversal endpoint", "/api/sfwa/auth/..%2F..%2Fadmin?msisdn=%2B46701234567"],
    ["invalid percent-encoding", "/api/sfwa/auth?msisdn=%E0%A4%A"],
  ])("%s -> BAD_REQUEST", async (_name, path) => {
    const res = await get(path, key);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await res.json()).toEqual({ code: "BAD_REQUEST" });
  });

  it("an api-key header of 8 KB is just a wrong key", async () => {
    const res = await get("/api/sfwa/auth?msisdn=%2B46701234567", { "api-key": huge(8000) });
    expect(res.headers.get("x-mfa-reason")).toBe("invalid_api_key");
  });

  it("unicode, RTL overrides and markup in texts are shown literally and escaped", async () => {
    const msisdn = freshMsisdn();
    const title = "Ärende 👍 \u202Egnp.exe <b>bold</b>";
    const text = `"'><svg onload=alert(1)> {{7*7}} \${7*7} '; DROP TABLE audit_log;--`;
    const pending = callAuth(msisdn, { params: { "title-text": title, "authentication-text": text, "button-accept-text": "<i>OK</i>" } });
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.html).toContain("Ärende 👍 \u202Egnp.exe &lt;b&gt;bold&lt;/b&gt;");
    expect(page.html).not.toContain("<svg");
    expect(page.html).not.toContain("<i>OK</i>");
    expect(page.html).toContain("{{7*7}}");
    await answer(link, "accept", page.csrf!);
    expect(await (await pending).json()).toEqual({ code: "TOUCH_ACCEPTED" });
  });
});

describe("approval page", () => {
  it.each(["/m/..%2F..%2Fadmin%2Fv1%2Faudit", "/m/%00", `/m/${huge(5000)}`, "/m/%F0%9F%92%A9%F0%9F%92%A9"])(
    "GET %s -> 404 page",
    async (path) => {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
    },
  );

  it("refuses oversized, wrongly typed and malformed answers", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    const origin = { origin: new URL(link).origin };
    const path = new URL(link).pathname;
    const form = { ...origin, "content-type": "application/x-www-form-urlencoded" };
    expect((await send("POST", path, `decision=accept&csrf=${page.csrf}&pad=${huge(10_000)}`, form)).status).toBe(413);
    expect(
      (await send("POST", path, JSON.stringify({ decision: "accept", csrf: page.csrf }), { ...origin, "content-type": "application/json" }))
        .status,
    ).toBe(400);
    expect((await send("POST", path, `decision=accept&decision=reject&csrf=${page.csrf}`, form)).status).toBeLessThan(500);
    expect((await send("POST", path, "%%%%", form)).status).toBe(400);
    expect((await send("POST", path, `decision=accept&csrf=${huge(200)}`, form)).status).toBe(400);
    // None of it counted; the real answer still does.
    const real = await answer(link, "reject", page.csrf!);
    const pendingCode = await codeOf(pending);
    if (real.status === 200) expect(pendingCode).toBe("TOUCH_REJECTED");
    else expect(pendingCode).toBe("TOUCH_ACCEPTED"); // the duplicate decision=accept&decision=reject was first
  });
});

describe("admin API", () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  it.each([
    ["not JSON", "{", 400],
    ["array instead of object", "[]", 400],
    ["SQL in the name", JSON.stringify({ name: "x'); DROP TABLE endpoints;--" }), 400],
    ["wrong types", JSON.stringify({ name: "typed", timeoutSeconds: "30", texts: "title" }), 400],
    ["deep nesting", `{"name":"deep","texts":${"[".repeat(5000)}${"]".repeat(5000)}}`, 400],
    ["oversized", JSON.stringify({ name: "big", texts: { title: huge(100_000) } }), 413],
    ["prototype pollution", '{"name":"proto","__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}', 400],
  ])("POST /endpoints with %s -> %i", async (_n, body, status) => {
    const res = await send("POST", "/admin/v1/endpoints", body, auth);
    expect(res.status).toBe(status);
  });

  it("hostile query strings on the audit log", async () => {
    for (const q of ["limit=-1", "limit=999999", "before=abc", "kind=everything", "endpoint=%27%20OR%201%3D1", `since=${huge(3000)}`]) {
      const res = await get(`/admin/v1/audit?${q}`, { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(res.status).toBe(400);
    }
  });
});

describe("relay API", () => {
  it("hostile bodies without a valid token are 401, never parsed", async () => {
    for (const body of ["{", huge(60_000), JSON.stringify({ msisdn: { $gt: "" } })]) {
      const res = await send("POST", "/api/relay/v1/touch", body, { "content-type": "application/json", authorization: "Bearer x.y.z" });
      expect(res.status).toBe(401);
    }
    expect((await send("POST", "/api/relay/v1/touch", huge(100_000), { "content-type": "application/json" })).status).toBe(413);
  });
});

describe("anything else", () => {
  // (/admin is the admin console now: test/worker/console-sign-in.test.ts.)
  it.each(["/", "/adminx", "/api", "/api/sfwa", "/dev/outbox", "/.env", "/wp-login.php"])("GET %s is a plain 404", async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
  });

  it("unsupported methods on the API are refused", async () => {
    const res = await send("DELETE", "/api/sfwa/auth?msisdn=%2B46701234567", "", { "api-key": KEYS.default });
    expect(res.status).toBe(404);
  });
});
