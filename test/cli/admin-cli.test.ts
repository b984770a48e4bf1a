import { describe, expect, it } from "vitest";
import { normalizeDate, parseArgs, settingsFromFlags, toCall, UsageError } from "../../cli/admin.ts";

// The admin CLI's argument mapping (its HTTP side is exercised against wrangler dev in test/e2e).
describe("admin CLI mapping", () => {
  it("maps commands to admin API calls", () => {
    expect(toCall(parseArgs(["endpoints", "list"]))).toEqual({ method: "GET", path: "/endpoints" });
    expect(toCall(parseArgs(["tokens", "create", "web", "my app", "--expires", "01-02-2030"]))).toEqual({
      method: "POST",
      path: "/endpoints/web/tokens",
      body: { name: "my app", expires: "2030-02-01" },
    });
    expect(toCall(parseArgs(["totp", "enroll", "+46701234567"])).path).toBe("/subscribers/%2B46701234567/totp");
    expect(toCall(parseArgs(["audit", "--kind", "auth", "--limit", "5"])).path).toBe("/audit?kind=auth&limit=5");
    expect(toCall(parseArgs(["devices", "revoke", "+46701234567", "dev-1"]))).toEqual({ method: "DELETE", path: "/subscribers/%2B46701234567/devices/dev-1" });
  });
  it("maps the RADIUS number-pin commands", () => {
    expect(toCall(parseArgs(["users", "confirm-number", "radius", "CORP\\Alice", "--msisdn", "+46701234567"]))).toEqual({
      method: "POST",
      path: "/relay-pins/radius/CORP%5CAlice/confirm",
      body: { msisdn: "+46701234567" },
    });
    expect(toCall(parseArgs(["users", "pending", "--endpoint", "radius"])).path).toBe("/relay-pins?endpoint=radius&pending=true");
    expect(toCall(parseArgs(["users", "pins"])).path).toBe("/relay-pins");
    expect(toCall(parseArgs(["users", "show", "radius", "alice"]))).toEqual({ method: "GET", path: "/relay-pins/radius/alice" });
    expect(toCall(parseArgs(["users", "cancel-change", "radius", "alice"]))).toEqual({ method: "DELETE", path: "/relay-pins/radius/alice/pending" });
    expect(toCall(parseArgs(["users", "remove-pin", "radius", "alice"]))).toEqual({ method: "DELETE", path: "/relay-pins/radius/alice" });
    expect(() => toCall(parseArgs(["users", "confirm-number", "radius"]))).toThrow(/username/);
  });
  it("builds settings from flags", () => {
    expect(settingsFromFlags({ timeout: "45", rate: "3/20", title: "T", "accept-label": "Yes", "response-style": "cloud" })).toEqual({
      timeoutSeconds: 45,
      rateLimit: { perMinute: 3, perHour: 20 },
      responseStyle: "cloud",
      texts: { title: "T", buttonAccept: "Yes" },
    });
    expect(() => settingsFromFlags({ rate: "fast" })).toThrow(UsageError);
    expect(normalizeDate("2030-01-02")).toBe("2030-01-02");
  });
  it("refuses unknown commands and missing arguments", () => {
    expect(() => toCall(parseArgs(["nope"]))).toThrow(/unknown command/);
    expect(() => toCall(parseArgs(["tokens", "revoke", "web"]))).toThrow(/token id/);
    expect(() => parseArgs(["--url"])).toThrow(/needs a value/);
  });
});
