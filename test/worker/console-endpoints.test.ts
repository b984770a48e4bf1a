import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/tokens";
import { getEndpoint } from "../../workers/store/endpoints";
import { signedIn, type ConsoleBrowser } from "./support/console";

/** Issue 15 item 1: endpoints and API tokens in the console, audited under the operator's name. */

const uniq = () => `con-${crypto.randomUUID().slice(0, 8)}`;
const baseForm = {
  timeoutSeconds: "30",
  responseStyle: "server",
  appApproval: "tap",
  uvFallback: "refuse",
  numberChange: "confirm",
  numberChangeNoticeHours: "72",
  pushGraceSeconds: "10",
  usePush: "on",
};
const lastAudit = (action: string, endpoint: string) =>
  env.DB.prepare("SELECT actor, detail FROM audit_log WHERE action = ? AND endpoint = ? ORDER BY id DESC LIMIT 1")
    .bind(action, endpoint)
    .first<{ actor: string; detail: string | null }>();

async function createEndpoint(b: ConsoleBrowser, name: string, extra: Record<string, string> = {}) {
  await b.get("/admin/endpoints/new");
  return b.post("/admin/endpoints", { ...baseForm, name, ...extra });
}

describe("console endpoints", () => {
  it("lists D1 endpoints as editable and MFA_CONFIG ones read-only", async () => {
    const b = await signedIn();
    const name = uniq();
    await createEndpoint(b, name);
    const list = await b.get("/admin/endpoints");
    expect(list.html).toContain(`href="/admin/endpoints/${name}"`);
    expect(list.html).toContain("From MFA_CONFIG (read-only)");
    expect(list.html).toContain("<td>default</td>");
    expect(list.html).not.toContain('href="/admin/endpoints/default"');
    expect((await b.get("/admin/endpoints/default")).status).toBe(404);
    await b.get("/admin/endpoints");
    expect((await b.post("/admin/endpoints/default", baseForm)).status).toBe(404);
    await b.get("/admin/endpoints/new");
    const taken = await b.post("/admin/endpoints", { ...baseForm, name: "default" });
    expect(taken.status).toBe(409);
    expect(taken.html).toContain("is defined in MFA_CONFIG");
  });

  it("creates an endpoint with every setting, audited under the operator", async () => {
    const b = await signedIn();
    const name = uniq();
    const assisted = { approvers: [{ name: "Help desk", msisdn: "+46700000099" }] };
    const res = await createEndpoint(b, name, {
      timeoutSeconds: "45",
      "rateLimit.perMinute": "3",
      "rateLimit.perHour": "20",
      "texts.title": "Portal sign-in",
      "texts.buttonAccept": "Yes",
      responseStyle: "cloud",
      appApproval: "user-verification",
      uvFallback: "tap",
      maxPending: "50",
      numberChange: "accept-after-notice",
      numberChangeNoticeHours: "24",
      pushGraceSeconds: "20",
      enableActivation: "on",
      numberMatching: "on",
      usePush: "", // unticked
      assistedLogin: JSON.stringify(assisted),
      reset: JSON.stringify({ minutes: 10 }),
    });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/admin/endpoints/${name}`);
    const row = await getEndpoint(env.DB, name);
    expect(row?.settings).toMatchObject({
      timeoutSeconds: 45,
      rateLimit: { perMinute: 3, perHour: 20 },
      texts: { title: "Portal sign-in", buttonAccept: "Yes" },
      responseStyle: "cloud",
      appApproval: "user-verification",
      uvFallback: "tap",
      maxPending: 50,
      numberChange: "accept-after-notice",
      numberChangeNoticeHours: 24,
      pushGraceSeconds: 20,
      enableActivation: true,
      numberMatching: true,
      usePush: false,
      offlineCodes: false,
      assistedLogin: assisted,
      reset: { minutes: 10 },
    });
    expect((await lastAudit("endpoint.create", name))?.actor).toBe(b.operator);
    // The edit form shows what is stored.
    const edit = await b.get(`/admin/endpoints/${name}`);
    expect(edit.html).toContain('value="Portal sign-in"');
    expect(edit.html).toContain("Help desk");
  });

  it("shows the schema's errors on the fields, keeps the input and stores nothing", async () => {
    const b = await signedIn();
    const name = uniq();
    const res = await createEndpoint(b, name, {
      timeoutSeconds: "5",
      "rateLimit.perMinute": "abc",
      "rateLimit.perHour": "10",
      "texts.buttonAccept": "x".repeat(41),
      assistedLogin: "{not json",
    });
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/id="err-timeoutSeconds">[^<]*&gt;=\s*15/);
    expect(res.html).toContain('id="err-rateLimit.perMinute"');
    expect(res.html).toContain('id="err-texts.buttonAccept"');
    expect(res.html).toContain('id="err-assistedLogin">must be JSON');
    expect(res.html).toContain(`value="${name}"`);
    expect(await getEndpoint(env.DB, name)).toBeNull();
    // A profile that is JSON but not a valid one: the error names the path inside it.
    const bad = await b.post("/admin/endpoints", { ...baseForm, name, assistedLogin: '{"source":"ldap","group":"nodn"}' });
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/id="err-assistedLogin">group: /);
    const badName = await b.post("/admin/endpoints", { ...baseForm, name: "bad name!" });
    expect(badName.html).toContain('id="err-name"');
  });

  it("edits an endpoint (clearing optional settings) and deletes it, each audited", async () => {
    const b = await signedIn();
    const name = uniq();
    await createEndpoint(b, name, { "rateLimit.perMinute": "3", "rateLimit.perHour": "20", maxPending: "9", "texts.title": "Old" });
    await b.get(`/admin/endpoints/${name}`);
    const saved = await b.post(`/admin/endpoints/${name}`, { ...baseForm, timeoutSeconds: "90", "texts.title": "New title" });
    expect(saved.status).toBe(303);
    const row = await getEndpoint(env.DB, name);
    expect(row?.settings.timeoutSeconds).toBe(90);
    expect(row?.settings.texts).toEqual({ title: "New title" });
    expect(row?.settings.rateLimit).toBeUndefined();
    expect(row?.settings.maxPending).toBeUndefined();
    expect((await lastAudit("endpoint.update", name))?.actor).toBe(b.operator);

    const invalid = await b.post(`/admin/endpoints/${name}`, { ...baseForm, timeoutSeconds: "301" });
    expect(invalid.status).toBe(400);
    expect(invalid.html).toContain('id="err-timeoutSeconds"');
    expect((await getEndpoint(env.DB, name))?.settings.timeoutSeconds).toBe(90);

    const deleted = await b.post(`/admin/endpoints/${name}/delete`);
    expect(deleted.status).toBe(303);
    expect(await getEndpoint(env.DB, name)).toBeNull();
    expect((await lastAudit("endpoint.delete", name))?.actor).toBe(b.operator);
    expect((await b.get(`/admin/endpoints?deleted=${name}`)).html).toContain(`Endpoint ${name} deleted.`);
  });

  it("a text cleared in the form is cleared on the endpoint (the users' screens show the default again)", async () => {
    const b = await signedIn();
    const name = uniq();
    await createEndpoint(b, name, { "texts.title": "Title", "texts.buttonAccept": "Misleading accept text" });
    expect((await getEndpoint(env.DB, name))?.settings.texts).toEqual({ title: "Title", buttonAccept: "Misleading accept text" });
    await b.get(`/admin/endpoints/${name}`);
    expect((await b.post(`/admin/endpoints/${name}`, { ...baseForm, "texts.title": "Title" })).status).toBe(303);
    expect((await getEndpoint(env.DB, name))?.settings.texts).toEqual({ title: "Title" });
  });

  it("echoes only an endpoint name from ?deleted=, never a sentence an attacker's link wrote", async () => {
    const b = await signedIn();
    const planted = "x deleted. Your session expired: sign in again at https://evil.example";
    const list = await b.get(`/admin/endpoints?deleted=${encodeURIComponent(planted)}`);
    expect(list.status).toBe(200);
    expect(list.html).not.toContain("evil.example");
    expect(list.html).not.toContain('class="notice"');
  });
});

describe("console API tokens", () => {
  const tokenRows = (endpoint: string) =>
    env.DB.prepare("SELECT id, name, sha256, expires, revoked_at FROM api_tokens WHERE endpoint = ?")
      .bind(endpoint)
      .all<{ id: string; name: string; sha256: string; expires: string | null; revoked_at: number | null }>();

  it("creates a token whose secret is shown once, regenerates it, revokes it; each audited", async () => {
    const b = await signedIn();
    const name = uniq();
    await createEndpoint(b, name);
    await b.get(`/admin/endpoints/${name}`);
    const created = await b.post(`/admin/endpoints/${name}/tokens`, { tokenName: "shop backend", expires: "2099-12-31" });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const secret = created.html.match(/id="token-secret">([^<]+)</)?.[1] ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = (await tokenRows(name)).results;
    expect(row).toMatchObject({ name: "shop backend", expires: "2099-12-31", sha256: await sha256Hex(secret), revoked_at: null });
    expect((await lastAudit("token.create", name))?.actor).toBe(b.operator);

    // Never again: not on the endpoint page, not in the audit log.
    const page = await b.get(`/admin/endpoints/${name}`);
    expect(page.html).not.toContain(secret);
    expect(page.html).toContain("shop backend");
    expect(page.html).toContain("2099-12-31");
    expect(JSON.stringify(await lastAudit("token.create", name))).not.toContain(secret);

    const id = row?.id ?? "";
    const regenerated = await b.post(`/admin/endpoints/${name}/tokens/${id}/regenerate`);
    expect(regenerated.status).toBe(200);
    const newSecret = regenerated.html.match(/id="token-secret">([^<]+)</)?.[1] ?? "";
    expect(newSecret).not.toBe(secret);
    expect((await tokenRows(name)).results[0]?.sha256).toBe(await sha256Hex(newSecret));
    expect((await lastAudit("token.regenerate", name))?.actor).toBe(b.operator);

    await b.get(`/admin/endpoints/${name}`);
    const revoked = await b.post(`/admin/endpoints/${name}/tokens/${id}/revoke`);
    expect(revoked.status).toBe(303);
    expect((await tokenRows(name)).results[0]?.revoked_at).toBeTypeOf("number");
    expect((await lastAudit("token.revoke", name))?.actor).toBe(b.operator);
    const after = await b.get(`/admin/endpoints/${name}`);
    expect(after.html).toContain("<td>revoked</td>");
    // A revoked token cannot be regenerated back to life.
    expect((await b.post(`/admin/endpoints/${name}/tokens/${id}/regenerate`)).status).toBe(404);
  });

  it("validates the token form like the admin API", async () => {
    const b = await signedIn();
    const name = uniq();
    await createEndpoint(b, name);
    await b.get(`/admin/endpoints/${name}`);
    const noName = await b.post(`/admin/endpoints/${name}/tokens`, { tokenName: " " });
    expect(noName.status).toBe(400);
    expect(noName.html).toContain('id="err-name"');
    const badDate = await b.post(`/admin/endpoints/${name}/tokens`, { tokenName: "x", expires: "31-12-2099" });
    expect(badDate.status).toBe(400);
    expect(badDate.html).toContain('id="err-expires"');
    expect((await tokenRows(name)).results).toHaveLength(0);
    expect((await b.post("/admin/endpoints/no-such-endpoint/tokens", { tokenName: "x" })).status).toBe(404);
  });
});
