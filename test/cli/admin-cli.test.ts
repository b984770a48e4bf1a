import { describe, expect, it } from "vitest";
import { adminToken, checkedUrl, normalizeDate, parseArgs, settingsFromFlags, toCall, UsageError } from "../../cli/admin.ts";

// The admin CLI's argument mapping (its HTTP side is exercised against wrangler dev in test/e2e/admin-cli-dev-server.test.ts).
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
    expect(toCall(parseArgs(["devices", "revoke", "+46701234567", "dev-1"]))).toEqual({
      method: "DELETE",
      path: "/subscribers/%2B46701234567/devices/dev-1",
    });
  });
  it("maps the RADIUS number-pin commands", () => {
    expect(toCall(parseArgs(["users", "confirm-number", "radius", "CORP\\Alice", "--msisdn", "+46701234567"]))).toEqual({
      method: "POST",
      path: "/relay-pins/radius/CORP%5CAlice/confirm",
      body: { msisdn: "+46701234567" },
    });
    expect(toCall(parseArgs(["users", "pending", "--endpoint", "radius"])).path).toBe("/relay-pins?endpoint=radius&pending=true");
    expect(toCall(parseArgs(["users", "pins"])).path).toBe("/relay-pins");
    expect(toCall(parseArgs(["subscribers", "unlock", "+46701234567"]))).toEqual({
      method: "DELETE",
      path: "/subscribers/%2B46701234567/locks?kind=all",
    });
    expect(toCall(parseArgs(["subscribers", "unlock", "+46701234567", "--kind", "sms-otp"])).path).toBe(
      "/subscribers/%2B46701234567/locks?kind=sms-otp",
    );
    expect(() => toCall(parseArgs(["subscribers", "unlock", "+46701234567", "--kind", "both"]))).toThrow(/--kind/);
    expect(toCall(parseArgs(["users", "show", "radius", "alice"]))).toEqual({ method: "GET", path: "/relay-pins/radius/alice" });
    expect(toCall(parseArgs(["users", "cancel-change", "radius", "alice"]))).toEqual({
      method: "DELETE",
      path: "/relay-pins/radius/alice/pending",
    });
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

// Issue 17 item 6: the admin token never travels in clear and never sits on the command line.
describe("admin CLI credentials", () => {
  it("sends the token only over https, or plain http to loopback", () => {
    expect(checkedUrl("https://mfa.example.com/")).toBe("https://mfa.example.com");
    for (const ok of ["http://localhost:8787", "http://127.0.0.1:8787", "http://[::1]:8787"]) expect(checkedUrl(ok)).toBe(ok);
    for (const bad of [
      "http://mfa.example.com",
      "http://10.0.0.5:8787",
      "http://127.0.0.1.nip.io",
      "http://admin.localhost:8787",
      "ftp://mfa.example.com",
      "nonsense",
    ]) {
      expect(() => checkedUrl(bad), bad).toThrow(UsageError);
    }
  });

  it("refuses --token on the command line and says why", () => {
    expect(() => parseArgs(["--token", "secret", "endpoints", "list"])).toThrow(
      /shell history.*EDGE_MFA_ADMIN_TOKEN.*--token-file.*--token-stdin/,
    );
    expect(() => parseArgs(["--token=secret", "endpoints", "list"])).toThrow(UsageError);
  });

  it("reads the token from the environment, a file or stdin", async () => {
    const sources = { env: "from-env", readFile: (p: string) => `from-file:${p}\n`, readStdin: async () => "from-stdin\nrest" };
    expect(await adminToken({}, sources)).toBe("from-env");
    expect(await adminToken(parseArgs(["--token-file", "/run/t", "audit"]).flags, sources)).toBe("from-file:/run/t");
    expect(await adminToken(parseArgs(["--token-stdin", "audit"]).flags, sources)).toBe("from-stdin");
    await expect(adminToken({}, { ...sources, env: undefined })).rejects.toThrow(/EDGE_MFA_ADMIN_TOKEN/);
    await expect(adminToken({ "token-stdin": "true" }, { ...sources, readStdin: async () => "\n" })).rejects.toThrow(UsageError);
  });
});
