import { describe, expect, it, vi } from "vitest";
import { KEYS, answer, callAuth, codeOf, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";

describe("GET /api/sfwa/auth: blocking outcomes", () => {
  it("returns TOUCH_ACCEPTED when the user accepts on the SMS link page", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.text()).toBe('{"code":"TOUCH_ACCEPTED"}');
  });

  it("returns TOUCH_REJECTED when the user rejects", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { endpoint: "other", key: KEYS.other });
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    await answer(link, "reject", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("blocks until the answer arrives (not before)", async () => {
    const msisdn = freshMsisdn();
    let settled = false;
    const pending = callAuth(msisdn).then((r) => ((settled = true), r));
    const link = await waitForLink(msisdn);
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("returns USER_NOT_RESPONDED after touch-timeout, even though the link was prefetched (GET never decides)", async () => {
    const msisdn = freshMsisdn();
    const started = Date.now();
    const pending = callAuth(msisdn, { params: { "touch-timeout": "15" } });
    const link = await waitForLink(msisdn);
    // Link scanners and previewers fetch the page, sometimes several times.
    for (let i = 0; i < 3; i++) expect((await openLink(link)).res.status).toBe(200);
    const res = await pending;
    expect(await codeOf(res)).toBe("USER_NOT_RESPONDED");
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
    expect(Date.now() - started).toBeLessThan(25_000);
    // The expired link now says so and cannot be answered.
    const after = await openLink(link);
    expect(after.res.status).toBe(410);
    expect(after.html).toContain("expired");
  }, 40_000);

  it("returns FAILED_DELIVERY when the gateway errors, times out, or reports failure", async () => {
    for (const suffix of ["0000", "0001", "0002"]) {
      const msisdn = freshMsisdn(suffix);
      const started = Date.now();
      expect(await codeOf(await callAuth(msisdn))).toBe("FAILED_DELIVERY");
      expect(Date.now() - started).toBeLessThan(10_000); // not held until touch-timeout
      expect((await gatewayRequests(msisdn)).length).toBe(1);
    }
  });
});

describe("SMS content and page texts", () => {
  it("sends sms-text with the link and shows the custom texts and buttons on the page", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, {
      params: {
        "sms-text": "Login to MyApp",
        "title-text": "MyApp Login",
        "authentication-text": "Approve sign-in to MyApp from Stockholm?",
        "button-accept-text": "Yes, it's me",
        "button-reject-text": "Not me",
        "touch-accept-text": "Welcome back!",
        "touch-reject-text": "We blocked it.",
      },
    });
    const link = await waitForLink(msisdn);
    const [sms] = await gatewayRequests(msisdn);
    expect(sms!.text).toBe(`Login to MyApp\n${link}`);
    expect(sms!.headers.authorization).toBe("Bearer gateway-secret");
    expect(link.startsWith("https://mfa.example.com/m/")).toBe(true);
    const page = await openLink(link);
    expect(page.html).toContain("<title>MyApp Login</title>");
    expect(page.html).toContain("Approve sign-in to MyApp from Stockholm?");
    expect(page.html).toContain("Yes, it&#39;s me");
    expect(page.html).toContain("Not me");
    const done = await answer(link, "accept", page.csrf!);
    expect(await done.text()).toContain("Welcome back!");
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });

  it("uses the endpoint's own default texts", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { endpoint: "other", key: KEYS.other });
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.html).toContain("<h1>Other app</h1>");
    await answer(link, "reject", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_REJECTED");
  });

  it("accepts an unencoded '+' in msisdn (sent as a space) like the documented example", async () => {
    const msisdn = freshMsisdn();
    const url = `https://mfa.example.com/api/sfwa/auth?msisdn=${msisdn}`; // raw '+'
    const { exports } = await import("cloudflare:workers");
    const pending = exports.default.fetch(new Request(url, { headers: { "api-key": KEYS.default } }));
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");
  });
});

describe("BAD_REQUEST", () => {
  const cases: Array<[string, () => Promise<Response>, string, number]> = [
    ["missing api-key", () => callAuth(freshMsisdn(), { key: null }), "missing_api_key", 400],
    ["wrong api-key", () => callAuth(freshMsisdn(), { key: "not-a-key" }), "invalid_api_key", 400],
    ["expired api-key", () => callAuth(freshMsisdn(), { key: KEYS.expired }), "expired_api_key", 400],
    ["key of another endpoint", () => callAuth(freshMsisdn(), { endpoint: "other", key: KEYS.default }), "invalid_api_key", 400],
    // Issue 17 item 8: an unknown endpoint answers like a wrong key (no name enumeration).
    ["unknown endpoint", () => callAuth(freshMsisdn(), { endpoint: "nope" }), "invalid_api_key", 400],
    ["msisdn not E.164", () => callAuth("0701234567"), "invalid_msisdn", 400],
    ["msisdn with letters", () => callAuth("+4670abc4567"), "invalid_msisdn", 400],
    ["touch-timeout below 15", () => callAuth(freshMsisdn(), { params: { "touch-timeout": "14" } }), "invalid_parameter", 400],
    ["touch-timeout above 300", () => callAuth(freshMsisdn(), { params: { "touch-timeout": "301" } }), "invalid_parameter", 400],
    ["title-text too long", () => callAuth(freshMsisdn(), { params: { "title-text": "t".repeat(500) } }), "invalid_parameter", 400],
  ];
  it.each(cases)("%s", async (_name, call, reason, status) => {
    const res = await call();
    expect(res.status).toBe(status);
    expect(await res.text()).toBe('{"code":"BAD_REQUEST"}');
    expect(res.headers.get("x-mfa-reason")).toBe(reason);
  });

  it("an unknown endpoint and a wrong key get the same answer; the log keeps which it was", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((l: unknown) => void lines.push(String(l)));
    try {
      const unknown = await callAuth(freshMsisdn(), { endpoint: "no-such-endpoint", key: "some-key" });
      const wrong = await callAuth(freshMsisdn(), { endpoint: "other", key: "some-key" });
      for (const r of [unknown, wrong]) {
        expect(r.status).toBe(400);
        expect(r.headers.get("x-mfa-reason")).toBe("invalid_api_key");
        expect(await r.text()).toBe('{"code":"BAD_REQUEST"}');
      }
    } finally {
      spy.mockRestore();
    }
    const reasons = lines.map((l) => JSON.parse(l) as { reason?: string }).map((l) => l.reason);
    expect(reasons).toEqual(expect.arrayContaining(["unknown_endpoint", "invalid_api_key"]));
  });

  it("missing msisdn", async () => {
    const { exports } = await import("cloudflare:workers");
    const res = await exports.default.fetch(new Request("https://mfa.example.com/api/sfwa/auth", { headers: { "api-key": KEYS.default } }));
    expect(await res.json()).toEqual({ code: "BAD_REQUEST" });
  });

  it("sends no SMS for a refused request", async () => {
    const msisdn = freshMsisdn();
    await callAuth(msisdn, { key: "wrong" });
    expect(await gatewayRequests(msisdn)).toEqual([]);
  });
});

describe("per-MSISDN rate limit", () => {
  it("refuses with BAD_REQUEST once the per-minute limit is used, per number", async () => {
    const msisdn = freshMsisdn("0000"); // gateway fails fast: each call ends at once
    const strict = { endpoint: "strict", key: KEYS.strict };
    expect(await codeOf(await callAuth(msisdn, strict))).toBe("FAILED_DELIVERY");
    expect(await codeOf(await callAuth(msisdn, strict))).toBe("FAILED_DELIVERY");
    const limited = await callAuth(msisdn, strict);
    expect(limited.status).toBe(429);
    expect(await codeOf(limited)).toBe("BAD_REQUEST");
    expect(limited.headers.get("x-mfa-reason")).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await gatewayRequests(msisdn)).length).toBe(2);
    // Another number is unaffected.
    expect(await codeOf(await callAuth(freshMsisdn("0000"), strict))).toBe("FAILED_DELIVERY");
  });
});
