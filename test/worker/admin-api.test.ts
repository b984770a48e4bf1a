import { env, exports } from "cloudflare:workers";
import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { ADMIN_TOKEN } from "../support/keys";
import { adminTokensFromEnv, matchAdmin } from "../../workers/lib/admin-auth";
import { sha256Hex } from "../../core/tokens";
import { seedFromBase32, totpCode } from "../../core/otp";
import { activateDevice } from "./support/authenticator-app";
import { answer, callAuth, codeOf, freshMsisdn, openLink, waitForLink } from "./support/magic-link";

async function admin(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
  const res = await exports.default.fetch(
    new Request(`https://mfa.example.com/admin/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
  );
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}
const uniq = () => `ep-${crypto.randomUUID().slice(0, 8)}`;

describe("admin authorization", () => {
  it.each([
    ["GET", "/endpoints"],
    ["POST", "/endpoints"],
    ["PATCH", "/endpoints/x"],
    ["DELETE", "/endpoints/x"],
    ["GET", "/endpoints/x/tokens"],
    ["POST", "/endpoints/x/tokens"],
    ["DELETE", "/endpoints/x/tokens/y"],
    ["POST", "/endpoints/x/tokens/y/regenerate"],
    ["GET", "/subscribers/%2B46701234567"],
    ["PUT", "/subscribers/%2B46701234567/totp"],
    ["DELETE", "/subscribers/%2B46701234567/totp"],
    ["DELETE", "/subscribers/%2B46701234567/locks"],
    ["GET", "/audit"],
    ["DELETE", "/subscribers/%2B46701234567/devices/d1"],
  ])("%s %s needs the admin token", async (method, path) => {
    expect((await admin(method, path, method === "GET" || method === "DELETE" ? undefined : {}, null)).status).toBe(401);
    expect((await admin(method, path, method === "GET" || method === "DELETE" ? undefined : {}, "wrong-token")).status).toBe(401);
    // An API key of an endpoint is not an admin credential.
    expect((await admin(method, path, undefined, "key-default-0123456789abcdef")).status).toBe(401);
  });
});

describe("endpoints", () => {
  it("create, read, list, update, delete; names and settings validated", async () => {
    const name = uniq();
    const created = await admin("POST", "/endpoints", { name, timeoutSeconds: 45, texts: { title: "Portal" }, responseStyle: "cloud" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, settings: { timeoutSeconds: 45, texts: { title: "Portal" }, responseStyle: "cloud" } });
    expect((await admin("POST", "/endpoints", { name })).status).toBe(409);
    expect((await admin("POST", "/endpoints", { name: "default" })).status).toBe(409); // defined in MFA_CONFIG
    expect((await admin("POST", "/endpoints", { name: "bad name!" })).status).toBe(400);
    expect((await admin("POST", "/endpoints", { name: uniq(), timeoutSeconds: 5 })).status).toBe(400);
    expect((await admin("POST", "/endpoints", { name: uniq(), bogus: 1 })).status).toBe(400);

    const list = await admin("GET", "/endpoints");
    expect(list.body!.endpoints.map((e: { name: string }) => e.name)).toContain(name);
    expect(list.body!.static.map((e: { name: string }) => e.name)).toContain("default");

    const patched = await admin("PATCH", `/endpoints/${name}`, { rateLimit: { perMinute: 1, perHour: 2 }, texts: { buttonAccept: "Yes" } });
    expect(patched.body!.settings).toMatchObject({
      timeoutSeconds: 45,
      rateLimit: { perMinute: 1, perHour: 2 },
      texts: { title: "Portal", buttonAccept: "Yes" },
    });
    expect((await admin("PATCH", `/endpoints/${name}`, { timeoutSeconds: 900 })).status).toBe(400);
    expect((await admin("GET", `/endpoints/${name}`)).status).toBe(200);
    expect((await admin("DELETE", `/endpoints/${name}`)).status).toBe(204);
    expect((await admin("GET", `/endpoints/${name}`)).status).toBe(404);
    expect((await admin("DELETE", `/endpoints/${name}`)).status).toBe(404);
    expect((await admin("PATCH", `/endpoints/${name}`, {})).status).toBe(404);
  });
});

describe("API tokens drive the Magic Link API", () => {
  it("a created token works (secret shown once, only a hash stored); revoke and expiry give BAD_REQUEST", async () => {
    const name = uniq();
    await admin("POST", "/endpoints", { name, texts: { title: "Managed endpoint" } });
    const tok = await admin("POST", `/endpoints/${name}/tokens`, { name: "portal" });
    expect(tok.status).toBe(201);
    const secret = tok.body!.secret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const listed = await admin("GET", `/endpoints/${name}/tokens`);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(listed.body!.tokens[0]).toMatchObject({ name: "portal", status: "active" });
    const row = await env.DB.prepare("SELECT * FROM api_tokens WHERE id = ?").bind(tok.body!.id).first();
    expect(JSON.stringify(row)).not.toContain(secret);

    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { endpoint: name, key: secret });
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.html).toContain("Managed endpoint");
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(await pending)).toBe("TOUCH_ACCEPTED");

    expect((await admin("DELETE", `/endpoints/${name}/tokens/${tok.body!.id}`)).status).toBe(204);
    const revoked = await callAuth(freshMsisdn(), { endpoint: name, key: secret });
    expect(await codeOf(revoked)).toBe("BAD_REQUEST");
    expect(revoked.headers.get("x-mfa-reason")).toBe("invalid_api_key");
    expect((await admin("GET", `/endpoints/${name}/tokens`)).body!.tokens[0].status).toBe("revoked");
    expect((await admin("DELETE", `/endpoints/${name}/tokens/${tok.body!.id}`)).status).toBe(404);

    const old = await admin("POST", `/endpoints/${name}/tokens`, { name: "old", expires: "2020-01-01" });
    const expired = await callAuth(freshMsisdn(), { endpoint: name, key: old.body!.secret });
    expect(expired.headers.get("x-mfa-reason")).toBe("expired_api_key");
    expect((await admin("POST", `/endpoints/${name}/tokens`, { name: "x", expires: "01-01-2030" })).status).toBe(400);
  });

  it("regenerate replaces the secret: the old one stops working, the new one works", async () => {
    const name = uniq();
    await admin("POST", "/endpoints", { name });
    const tok = await admin("POST", `/endpoints/${name}/tokens`, { name: "app" });
    const regen = await admin("POST", `/endpoints/${name}/tokens/${tok.body!.id}/regenerate`);
    expect(regen.status).toBe(200);
    expect(regen.body!.secret).not.toBe(tok.body!.secret);
    expect((await callAuth(freshMsisdn(), { endpoint: name, key: tok.body!.secret })).headers.get("x-mfa-reason")).toBe("invalid_api_key");
    expect(await codeOf(await callAuth(freshMsisdn("0000"), { endpoint: name, key: regen.body!.secret }))).toBe("FAILED_DELIVERY");
    expect((await admin("POST", `/endpoints/${name}/tokens/nope/regenerate`)).status).toBe(404);
  });

  it("endpoint settings apply: rate limit and cloud response style", async () => {
    const name = uniq();
    await admin("POST", "/endpoints", { name, responseStyle: "cloud", rateLimit: { perMinute: 1, perHour: 5 } });
    const secret = (await admin("POST", `/endpoints/${name}/tokens`, { name: "t" })).body!.secret;
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { endpoint: name, key: secret });
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    await answer(link, "reject", page.csrf!);
    expect(await codeOf(await pending)).toBe("REJECT");
    const limited = await callAuth(msisdn, { endpoint: name, key: secret });
    expect(limited.headers.get("x-mfa-reason")).toBe("rate_limited");
  });

  it("deleting an endpoint removes its tokens", async () => {
    const name = uniq();
    await admin("POST", "/endpoints", { name });
    const secret = (await admin("POST", `/endpoints/${name}/tokens`, { name: "t" })).body!.secret;
    await admin("DELETE", `/endpoints/${name}`);
    // The endpoint is gone; callers are told invalid_api_key for it (issue 17 item 8).
    expect((await callAuth(freshMsisdn(), { endpoint: name, key: secret })).headers.get("x-mfa-reason")).toBe("invalid_api_key");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM api_tokens WHERE endpoint = ?").bind(name).first("n")).toBe(0);
  });
});

describe("subscribers", () => {
  it("shows and manages the TOTP token, validates the number", async () => {
    const msisdn = freshMsisdn();
    const path = `/subscribers/${encodeURIComponent(msisdn)}`;
    const noLocks = { offline: { failures: 0, lockedUntil: null }, smsOtp: { failures: 0, lockedUntil: null } };
    expect((await admin("GET", path)).body).toEqual({ msisdn, totp: false, locks: noLocks, devices: [] });
    const enrolled = await admin("PUT", `${path}/totp`, {});
    expect(enrolled.status).toBe(201);
    expect(enrolled.body!.secret).toMatch(/^[A-Z2-7]+$/);
    expect((await admin("GET", path)).body).toEqual({ msisdn, totp: true, locks: noLocks, devices: [] });
    // The stored seed is encrypted.
    const stored = await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) =>
      s.storage.get<{ seed: { iv: string; ct: string } }>("totpToken"),
    );
    expect(stored!.seed.ct).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(JSON.stringify(stored)).not.toContain(enrolled.body!.secret);
    expect((await admin("DELETE", `${path}/totp`)).status).toBe(204);
    expect((await admin("GET", path)).body!.totp).toBe(false);
    expect((await admin("GET", "/subscribers/12345")).status).toBe(400);
  });
});

describe("wrong-code lockouts", () => {
  it("shows a running offline-code lock and lifts it: the right code works again, the unlock is audited", async () => {
    const msisdn = freshMsisdn();
    const path = `/subscribers/${encodeURIComponent(msisdn)}`;
    const device = await activateDevice(msisdn);
    const seed = seedFromBase32(device.seed);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    const right = await totpCode(seed, Date.now());
    const wrong = right === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) expect(await stub.verifyTotp(wrong)).toBe(false);
    expect((await stub.checkTotp(right)).verdict).toBe("locked");

    const shown = (await admin("GET", path)).body!;
    expect(shown.locks.offline.failures).toBe(5);
    expect(Date.parse(shown.locks.offline.lockedUntil)).toBeGreaterThan(Date.now());
    expect(shown.locks.smsOtp).toEqual({ failures: 0, lockedUntil: null });

    // Only the kind asked for: the SMS OTP lock had nothing, so nothing is reported cleared.
    expect((await admin("DELETE", `${path}/locks?kind=sms-otp`)).body).toEqual({ msisdn, cleared: [] });
    expect((await stub.checkTotp(right)).verdict).toBe("locked");
    expect((await admin("DELETE", `${path}/locks?kind=everything`)).status).toBe(400);

    expect((await admin("DELETE", `${path}/locks`)).body).toEqual({ msisdn, cleared: ["offline"] });
    expect((await admin("GET", path)).body!.locks.offline).toEqual({ failures: 0, lockedUntil: null });
    expect((await stub.checkTotp(right)).verdict).toBe("accept");

    const audit = (await admin("GET", "/audit?kind=admin&limit=10")).body!.entries as Array<{
      action: string;
      detail: { cleared?: string[] };
    }>;
    expect(audit.filter((e) => e.action === "subscriber.unlock").map((e) => e.detail.cleared)).toEqual([["offline"], []]);
  });
});

describe("app devices", () => {
  it("lists an activated device and revokes it: its offline codes stop working, it gets no pushes", async () => {
    const msisdn = freshMsisdn();
    const device = await activateDevice(msisdn);
    const path = `/subscribers/${encodeURIComponent(msisdn)}`;
    const shown = await admin("GET", path);
    expect(shown.body!.devices).toEqual([
      { id: device.deviceId, name: "Phone", push: true, userVerification: false, activatedAt: expect.any(String) },
    ]);
    const seed = seedFromBase32(device.seed);
    expect(await env.SUBSCRIBER.getByName(msisdn).verifyTotp(await totpCode(seed, Date.now()))).toBe(true);

    expect((await admin("DELETE", `${path}/devices/not-the-device`)).status).toBe(404);
    expect((await admin("DELETE", `${path}/devices/${device.deviceId}`)).status).toBe(204);
    expect((await admin("GET", path)).body!.devices).toEqual([]);
    expect(await env.SUBSCRIBER.getByName(msisdn).verifyTotp(await totpCode(seed, Date.now() + 30_000))).toBe(false);
    const audit = (await admin("GET", "/audit?kind=admin&limit=5")).body!.entries;
    expect(
      audit.some(
        (e: { action: string; detail: { deviceId?: string } }) => e.action === "device.revoke" && e.detail.deviceId === device.deviceId,
      ),
    ).toBe(true);
  });
});

describe("audit log", () => {
  it("records authentications (masked number, channel, result, latency) and admin actions", async () => {
    const name = uniq();
    await admin("POST", "/endpoints", { name });
    const secret = (await admin("POST", `/endpoints/${name}/tokens`, { name: "t" })).body!.secret;
    const msisdn = freshMsisdn("0000");
    await callAuth(msisdn, { endpoint: name, key: secret });
    await callAuth(msisdn, { endpoint: name, key: "wrong" });
    let auth: Record<string, any>[] = [];
    for (let i = 0; i < 50 && auth.length < 2; i++) {
      auth = (await admin("GET", `/audit?kind=auth&endpoint=${name}`)).body!.entries;
      if (auth.length < 2) await new Promise((r) => setTimeout(r, 50)); // written after the response
    }
    expect(auth.map((e) => e.result).sort()).toEqual(["BAD_REQUEST", "FAILED_DELIVERY"]);
    for (const e of auth) {
      expect(e.msisdn).not.toBe(msisdn);
      expect(e.msisdn).toMatch(/^\+467\*+00$/);
      // The SMS was attempted for the delivery failure; a refused key reaches no channel.
      expect(e.channel).toBe(e.result === "FAILED_DELIVERY" ? "sms" : "none");
      expect(typeof e.latency_ms).toBe("number");
    }
    expect(JSON.stringify(auth)).not.toContain(secret);
    const adminEntries = (await admin("GET", `/audit?kind=admin&endpoint=${name}`)).body!.entries;
    expect(adminEntries.map((e: { action: string }) => e.action)).toEqual(["token.create", "endpoint.create"]);
  });

  it("paginates newest first and filters by time", async () => {
    const name = uniq();
    await admin("POST", "/endpoints", { name });
    for (let i = 0; i < 5; i++) await admin("PATCH", `/endpoints/${name}`, { timeoutSeconds: 20 + i });
    const first = await admin("GET", `/audit?kind=admin&endpoint=${name}&limit=4`);
    expect(first.body!.entries).toHaveLength(4);
    expect(first.body!.entries[0].detail).toEqual({ timeoutSeconds: 24 });
    const second = await admin("GET", `/audit?kind=admin&endpoint=${name}&limit=4&before=${first.body!.next}`);
    expect(second.body!.entries.map((e: { action: string }) => e.action)).toEqual(["endpoint.update", "endpoint.create"]);
    expect(second.body!.next).toBeNull();
    const future = await admin("GET", `/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.body!.entries).toEqual([]);
    expect((await admin("GET", "/audit?since=yesterday")).status).toBe(400);
  });

  it("the scheduled job deletes entries older than the retention (30 days default)", async () => {
    const day = 86_400_000;
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO audit_log (at, kind, action, actor) VALUES (?, 'admin', 'old.entry', 'test')").bind(now - 31 * day),
      env.DB.prepare("INSERT INTO audit_log (at, kind, action, actor) VALUES (?, 'admin', 'recent.entry', 'test')").bind(now - 29 * day),
      env.DB.prepare("INSERT INTO audit_log (at, kind, result, actor) VALUES (?, 'auth', 'old.auth', 'test')").bind(now - 31 * day),
      env.DB.prepare("INSERT INTO audit_log (at, kind, result, actor) VALUES (?, 'auth', 'recent.auth', 'test')").bind(now - 29 * day),
    ]);
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const run = worker.scheduled as (c: ScheduledController, e: Env, x: ExecutionContext) => Promise<void>;
    await run(createScheduledController(), env, ctx);
    const kept = (
      await env.DB.prepare("SELECT coalesce(action, result) AS what FROM audit_log WHERE actor = 'test' ORDER BY id").all<{
        what: string;
      }>()
    ).results.map((r) => r.what);
    expect(kept).toEqual(["recent.entry", "recent.auth"]);
    await expect(run(createScheduledController(), { ...env, AUDIT_RETENTION_DAYS: "zero" }, ctx)).rejects.toThrow(/AUDIT_RETENTION_DAYS/);
  });
});

describe("named admin tokens, audited in the same transaction (issue 10 item 12)", () => {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const alice = "alice-admin-token-0123456789";
  const bob = "bob-admin-token-0123456789";
  async function as(token: string, method: string, path: string, body?: unknown, extraEnv: Record<string, string> = {}) {
    const tokens = JSON.stringify([
      { name: "alice", sha256: await sha256Hex(alice) },
      { name: "bob", sha256: (await sha256Hex(bob)).toUpperCase() },
    ]);
    const res = await worker.fetch(
      new Request(`https://mfa.example.com/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
      { ...env, ADMIN_TOKENS: tokens, ...extraEnv } as Env,
      ctx,
    );
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
  }

  it("each named token works and the audit names who acted; ADMIN_TOKEN_SHA256 still works, as 'default'", async () => {
    const name = uniq();
    expect((await as(alice, "POST", "/endpoints", { name })).status).toBe(201);
    expect((await as(bob, "PATCH", `/endpoints/${name}`, { timeoutSeconds: 40 })).status).toBe(200);
    expect((await as(ADMIN_TOKEN, "POST", `/endpoints/${name}/tokens`, { name: "t" })).status).toBe(201);
    expect((await as("carol-token", "GET", "/endpoints")).status).toBe(401);
    const entries = (await as(alice, "GET", `/audit?kind=admin&endpoint=${name}`)).body!.entries;
    expect(entries.map((e: { actor: string; action: string }) => [e.actor, e.action])).toEqual([
      ["default", "token.create"],
      ["bob", "endpoint.update"],
      ["alice", "endpoint.create"],
    ]);
  });

  it("a malformed ADMIN_TOKENS is a clear configuration error, not an open door", async () => {
    const bad = await as(alice, "GET", "/endpoints", undefined, { ADMIN_TOKENS: '[{"name":"x","sha256":"nothex"}]' });
    expect(bad).toEqual({ status: 500, body: { error: "admin tokens misconfigured" } });
    expect((await as(alice, "GET", "/endpoints", undefined, { ADMIN_TOKENS: "{nope" })).status).toBe(500);
  });

  it("a change and its audit row are one D1 batch: if the row cannot be written the change is not made", async () => {
    const name = uniq();
    await env.DB.prepare(
      `CREATE TRIGGER refuse_audit_${name.replace(/-/g, "_")} BEFORE INSERT ON audit_log WHEN NEW.endpoint = '${name}'
       BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END`,
    ).run();
    try {
      expect((await admin("POST", "/endpoints", { name })).status).toBe(500);
      expect((await admin("GET", `/endpoints/${name}`)).status).toBe(404);
    } finally {
      await env.DB.prepare(`DROP TRIGGER refuse_audit_${name.replace(/-/g, "_")}`).run();
    }
    // A refused change writes no row.
    expect((await admin("POST", "/endpoints", { name })).status).toBe(201);
    expect((await admin("POST", "/endpoints", { name })).status).toBe(409);
    expect((await admin("DELETE", `/endpoints/${name}/tokens/no-such-token`)).status).toBe(404);
    const actions = (await admin("GET", `/audit?kind=admin&endpoint=${name}`)).body!.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(["endpoint.create"]);
  });
});

describe("admin token matching", () => {
  it("names the admin whose hash matches, null otherwise", async () => {
    const tokens = [
      { name: "a", sha256: await sha256Hex("token-a") },
      { name: "b", sha256: await sha256Hex("token-b") },
    ];
    expect(matchAdmin(await sha256Hex("token-b"), tokens)).toBe("b");
    expect(matchAdmin(await sha256Hex("token-c"), tokens)).toBeNull();
    expect(matchAdmin(await sha256Hex("token-a"), [])).toBeNull();
  });
  it("reads ADMIN_TOKENS and ADMIN_TOKEN_SHA256 ('default'); the demo token only in DEMO_MODE", async () => {
    const h = await sha256Hex("x");
    expect((await adminTokensFromEnv({ DEMO_MODE: "false", ADMIN_TOKEN_SHA256: h })).map((t) => t.name)).toEqual(["default"]);
    expect((await adminTokensFromEnv({ DEMO_MODE: "true" })).map((t) => t.name)).toEqual(["demo"]);
    await expect(
      adminTokensFromEnv({
        DEMO_MODE: "false",
        ADMIN_TOKENS: JSON.stringify([
          { name: "a", sha256: h },
          { name: "a", sha256: h },
        ]),
      }),
    ).rejects.toThrow(/unique/);
    await expect(
      adminTokensFromEnv({ DEMO_MODE: "false", ADMIN_TOKENS: JSON.stringify([{ name: "default", sha256: h }]), ADMIN_TOKEN_SHA256: h }),
    ).rejects.toThrow(/default/);
  });
});
