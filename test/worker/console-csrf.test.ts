import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConsoleBrowser, signedIn } from "./support/console";

/** Issue 15 item 1: every POST under /admin needs this session's CSRF token from this origin. */

const endpointForm = (name: string) => ({
  name,
  timeoutSeconds: "30",
  responseStyle: "server",
  appApproval: "tap",
  uvFallback: "refuse",
  numberChange: "confirm",
});
const exists = async (name: string) => (await env.DB.prepare("SELECT 1 FROM endpoints WHERE name = ?").bind(name).first()) !== null;
const uniq = () => `csrf-${crypto.randomUUID().slice(0, 8)}`;

describe("console CSRF", () => {
  it("accepts a form with the session's token from this origin", async () => {
    const b = await signedIn();
    const name = uniq();
    const res = await b.post("/admin/endpoints", endpointForm(name));
    expect(res.status).toBe(303);
    expect(await exists(name)).toBe(true);
  });

  it.each([
    ["no token", { _csrf: "" }, {}],
    ["a wrong token", { _csrf: "A".repeat(43) }, {}],
    ["another origin", {}, { origin: "https://evil.example", "sec-fetch-site": "cross-site" }],
    ["a same-site subdomain", {}, { origin: "https://evil.mfa.example.com", "sec-fetch-site": "same-site" }],
    ["Origin null (sandboxed form)", {}, { origin: "null", "sec-fetch-site": "" }],
    ["a cross-site fetch without Origin", {}, { origin: "", "sec-fetch-site": "cross-site" }],
  ])("refuses a form with %s (403, nothing changed)", async (_what, form: Record<string, string>, headers: Record<string, string>) => {
    const b = await signedIn();
    const name = uniq();
    const res = await b.post("/admin/endpoints", { ...endpointForm(name), ...form }, headers);
    expect(res.status).toBe(403);
    expect(await exists(name)).toBe(false);
  });

  it("refuses another session's token, and a JSON body carrying the right one", async () => {
    const victim = await signedIn();
    const attacker = await signedIn();
    const name = uniq();
    expect((await victim.post("/admin/endpoints", { ...endpointForm(name), _csrf: attacker.csrfToken() })).status).toBe(403);
    const json = await victim.request("POST", "/admin/endpoints", {
      headers: { "content-type": "application/json" },
    });
    expect(json.status).toBe(403);
    expect(await exists(name)).toBe(false);
  });

  it("covers every sub-app's POSTs and sign-out, not only this helper's forms", async () => {
    const b = await signedIn();
    for (const path of ["/admin/subscribers/x", "/admin/audit", "/admin/", "/admin/logout", "/admin/anything"]) {
      expect((await b.post(path, { _csrf: "" })).status, path).toBe(403);
    }
    // The session survived the token-less sign-out.
    expect((await b.get("/admin/endpoints")).status).toBe(200);
  });

  it("refuses a POST without a session with 403, not a redirect a form could follow", async () => {
    const b = new ConsoleBrowser();
    const name = uniq();
    expect((await b.post("/admin/endpoints", endpointForm(name))).status).toBe(403);
    expect(await exists(name)).toBe(false);
  });
});
