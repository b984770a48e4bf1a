import { describe, expect, it } from "vitest";
import { EndpointSettingsSchema } from "../../../workers/config/schema";
import { ABSOLUTE_MS, IDLE_MS, csrfTokenFor, sessionLive } from "../../../workers/domain/console-session";
import { fieldErrors, formFromSettings, settingsInput } from "../../../workers/pages/console/endpoint-form";
import { sameOriginRequest } from "../../../workers/routes/console/csrf";

/** The admin console's pure rules: origin check, session expiry, CSRF token, form mapping. */

const url = "https://mfa.example.com/admin/endpoints";
const h = (o: Record<string, string>) => new Headers(o);

describe("sameOriginRequest", () => {
  it("accepts same-origin browsers and header-less clients, refuses anything naming another site", () => {
    expect(sameOriginRequest(h({ origin: "https://mfa.example.com", "sec-fetch-site": "same-origin" }), url)).toBe(true);
    expect(sameOriginRequest(h({}), url)).toBe(true);
    expect(sameOriginRequest(h({ origin: "https://evil.example" }), url)).toBe(false);
    expect(sameOriginRequest(h({ origin: "http://mfa.example.com" }), url)).toBe(false);
    expect(sameOriginRequest(h({ origin: "null" }), url)).toBe(false);
    expect(sameOriginRequest(h({ "sec-fetch-site": "same-site" }), url)).toBe(false);
    expect(sameOriginRequest(h({ "sec-fetch-site": "none" }), url)).toBe(false);
    expect(sameOriginRequest(h({ origin: "https://mfa.example.com", "sec-fetch-site": "cross-site" }), url)).toBe(false);
  });
});

describe("console sessions", () => {
  it("live until idle or absolute expiry", () => {
    const now = 10 * ABSOLUTE_MS;
    expect(sessionLive({ created_at: now - 1000, last_seen_at: now - 1000 }, now)).toBe(true);
    expect(sessionLive({ created_at: now - 1000, last_seen_at: now - IDLE_MS }, now)).toBe(false);
    expect(sessionLive({ created_at: now - ABSOLUTE_MS, last_seen_at: now }, now)).toBe(false);
  });

  it("derives a CSRF token per session that is neither the id nor its stored hash", async () => {
    const a = await csrfTokenFor("A".repeat(43));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).toBe(await csrfTokenFor("A".repeat(43)));
    expect(a).not.toBe(await csrfTokenFor("B".repeat(43)));
  });
});

describe("endpoint form", () => {
  it("round-trips stored settings through the form", () => {
    const settings = EndpointSettingsSchema.parse({
      timeoutSeconds: 60,
      rateLimit: { perMinute: 2, perHour: 9 },
      texts: { title: "T" },
      numberMatching: true,
      assistedLogin: { approvers: [{ name: "A", msisdn: "+46700000001" }] },
    });
    const { input, errors } = settingsInput(formFromSettings(settings));
    expect(errors).toEqual({});
    expect(EndpointSettingsSchema.strict().parse(input)).toEqual(settings);
  });

  it("turns empty fields into 'not set' and reports errors by field", () => {
    const { input, errors } = settingsInput({ timeoutSeconds: "1.5", "rateLimit.perMinute": "", "rateLimit.perHour": "", reset: "[" });
    expect(input.rateLimit).toBeUndefined();
    expect(input.usePush).toBe(false);
    expect(errors).toEqual({ reset: "must be JSON (an object), or empty for none" });
    const parsed = EndpointSettingsSchema.strict().safeParse(input);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(Object.keys(fieldErrors(parsed.error))).toEqual(["timeoutSeconds"]);
  });
});
