import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { WEBHOOK_MAX_ATTEMPTS } from "../../core/webhook-retry";
import { verifyWebhook } from "../../core/webhook-signature";
import { randomToken, sha256Hex } from "../../core/tokens";
import { BACKSTOP_MARGIN_MS } from "../../workers/objects/async-auth/state";
import type { AsyncState } from "../../workers/objects/async-auth/state";
import { asyncApi } from "../../workers/routes/async-api";
import { ADMIN_TOKEN } from "../support/keys";
import { KEYS, answer, callAuth, codeOf, freshMsisdn, openLink, waitForLink } from "./support/magic-link";

const ORIGIN = "https://mfa.example.com";

async function startAsync(body: unknown, opts: { endpoint?: string; key?: string | null } = {}): Promise<Response> {
  const key = opts.key === undefined ? KEYS.default : opts.key;
  return exports.default.fetch(
    new Request(`${ORIGIN}/api/v2/auth${opts.endpoint ? `/${opts.endpoint}` : ""}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key !== null ? { "api-key": key } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

async function readAsync(id: string, opts: { key?: string | null; wait?: number } = {}): Promise<Response> {
  const key = opts.key === undefined ? KEYS.default : opts.key;
  const query = opts.wait !== undefined ? `?wait=${opts.wait}` : "";
  return exports.default.fetch(new Request(`${ORIGIN}/api/v2/auth/${id}${query}`, { headers: key !== null ? { "api-key": key } : {} }));
}

async function started(res: Response): Promise<{ id: string; poll: string; expiresAt: number }> {
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; poll: string; expiresAt: number };
}

async function acceptLink(msisdn: string): Promise<void> {
  const link = await waitForLink(msisdn);
  const { csrf } = await openLink(link);
  expect(csrf).toBeTruthy();
  expect((await answer(link, "accept", csrf ?? "")).status).toBe(200);
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A D1 endpoint whose webhook goes to the fake receiver under `hook` (its path and query), and a key for it. */
async function webhookEndpoint(hook: string): Promise<{ name: string; key: string }> {
  const name = `wh-${crypto.randomUUID().slice(0, 8)}`;
  const created = await admin("POST", "/endpoints", {
    name,
    webhook: { url: `${env.TEST_WEBHOOK_URL}/hook/${hook}`, signingSecret: { secret: "TEST_WEBHOOK_SECRET" } },
  });
  expect(created.status).toBe(201);
  const token = await admin("POST", `/endpoints/${name}/tokens`, { name: "async" });
  expect(token.status).toBe(201);
  return { name, key: String(token.body.secret) };
}

interface Received {
  headers: Record<string, string>;
  body: string;
  answered: number;
}
async function received(name: string): Promise<Received[]> {
  return (await (await fetch(`${env.TEST_WEBHOOK_URL}/_received?name=${name}`)).json()) as Received[];
}
async function waitForDeliveries(name: string, count: number): Promise<Received[]> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const got = await received(name);
    if (got.length >= count) return got;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${count} webhook deliveries for ${name}`);
}

const asyncState = (id: string) => runInDurableObject(env.ASYNC_AUTH.getByName(id), (_i, s) => s.storage.get<AsyncState>("async"));

/** Runs the object's alarm now (the retry it scheduled), as the runtime would at its time. */
async function runAlarm(id: string): Promise<boolean> {
  return runDurableObjectAlarm(env.ASYNC_AUTH.getByName(id));
}

describe("POST /api/v2/auth", () => {
  it("answers 202 at once with an unguessable id and where to poll; the SMS goes out as for the blocking call", async () => {
    const msisdn = freshMsisdn();
    const res = await startAsync({ msisdn, "touch-timeout": 60, "title-text": "Portal" });
    const body = await started(res);
    expect(body.id).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    expect(body.poll).toBe(`/api/v2/auth/${body.id}`);
    expect(res.headers.get("location")).toBe(body.poll);
    expect(body.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    await waitForLink(msisdn);
    expect(await (await readAsync(body.id)).json()).toEqual({ id: body.id, status: "pending" });
  });

  it("refuses like the blocking call: BAD_REQUEST with the reason's status and X-MFA-Reason", async () => {
    const cases: Array<[unknown, { endpoint?: string; key?: string | null }, number, string]> = [
      [{ msisdn: freshMsisdn() }, { key: null }, 400, "missing_api_key"],
      [{ msisdn: freshMsisdn() }, { key: "wrong-key-0123456789" }, 400, "invalid_api_key"],
      [{ msisdn: freshMsisdn() }, { key: KEYS.default, endpoint: "other" }, 400, "invalid_api_key"],
      [{ msisdn: "not a number" }, {}, 400, "invalid_msisdn"],
      [{ msisdn: freshMsisdn(), "touch-timeout": 5 }, {}, 400, "invalid_parameter"],
      [{ msisdn: freshMsisdn(), "sms-text": "a\u0007b" }, {}, 400, "invalid_parameter"],
      [{}, {}, 400, "invalid_msisdn"],
      ["{not json", {}, 400, "invalid_parameter"],
      [[{ msisdn: freshMsisdn() }], {}, 400, "invalid_parameter"],
    ];
    for (const [body, opts, status, reason] of cases) {
      const res = await startAsync(body, opts);
      expect([res.status, res.headers.get("x-mfa-reason")], JSON.stringify(body)).toEqual([status, reason]);
      expect(await res.json()).toEqual({ code: "BAD_REQUEST" });
    }
  });

  it("goes through the per-number limits: the strict endpoint's rate limit answers 429", async () => {
    const msisdn = freshMsisdn();
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await startAsync({ msisdn }, { endpoint: "strict", key: KEYS.strict })).status);
    expect(codes.slice(0, 2)).toEqual([202, 202]);
    expect(codes.slice(2)).toContain(429);
  });
});

describe("GET /api/v2/auth/{id}", () => {
  it("a long-poll returns as soon as the user answers, with the blocking call's code; one audit row", async () => {
    const msisdn = freshMsisdn();
    const { id } = await started(await startAsync({ msisdn }));
    const t0 = Date.now();
    const polled = readAsync(id, { wait: 30 });
    await acceptLink(msisdn);
    const res = await polled;
    expect(Date.now() - t0).toBeLessThan(25_000); // it did not sit out the 30 s
    expect(await res.json()).toEqual({ id, status: "finished", code: "TOUCH_ACCEPTED" });
    // Readable again (until purged), without waiting.
    expect(await (await readAsync(id, { wait: 5 })).json()).toEqual({ id, status: "finished", code: "TOUCH_ACCEPTED" });
    // Tests in a file run one after another: the rows since t0 are this authentication's.
    await expect
      .poll(async () => {
        const rows = await env.DB.prepare(
          "SELECT result, channel, detail FROM audit_log WHERE kind = 'auth' AND endpoint = 'default' AND at >= ?",
        )
          .bind(t0)
          .all();
        return rows.results;
      })
      .toEqual([{ result: "TOUCH_ACCEPTED", channel: "sms", detail: expect.stringContaining('"api":"async","key":"main"') }]);
  });

  it("a long-poll on a pending authentication answers pending after the wait", async () => {
    const { id } = await started(await startAsync({ msisdn: freshMsisdn() }));
    const t0 = Date.now();
    const res = await readAsync(id, { wait: 2 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
    expect(await res.json()).toEqual({ id, status: "pending" });
  });

  it("the session's own end (no SMS could be sent) is the result: FAILED_DELIVERY", async () => {
    const { id } = await started(await startAsync({ msisdn: freshMsisdn("0000") }));
    expect(await (await readAsync(id, { wait: 10 })).json()).toEqual({ id, status: "finished", code: "FAILED_DELIVERY" });
  });

  it("another endpoint's key, no key, a wrong key, a guessed or malformed id: the same 404", async () => {
    const { id } = await started(await startAsync({ msisdn: freshMsisdn() }));
    const guessed = "A".repeat(43);
    const answers = await Promise.all([
      readAsync(id, { key: KEYS.other }),
      readAsync(id, { key: null }),
      readAsync(id, { key: "wrong-key-0123456789" }),
      readAsync(guessed),
      readAsync("not-an-id"),
      readAsync(id, { key: KEYS.other, wait: 5 }),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.headers.get("x-mfa-reason")).toBeNull();
      expect(await res.text()).toBe('{"error":"not_found"}');
    }
    // The creator's key still reads it.
    expect((await readAsync(id)).status).toBe(200);
  });

  it("the backstop asks the session when its notice was lost", async () => {
    // A blocking call's session notifies no async object: as if the notice had been lost.
    const msisdn = freshMsisdn();
    const blocking = callAuth(msisdn, { params: { "touch-timeout": "15" } });
    const link = await waitForLink(msisdn);
    await acceptLink(msisdn);
    expect(await codeOf(blocking)).toBe("TOUCH_ACCEPTED");
    const id = randomToken();
    const now = Date.now();
    await env.ASYNC_AUTH.getByName(id).create({
      id,
      endpoint: "default",
      keyName: "main",
      msisdn: "+467******99",
      session: await sha256Hex(link.split("/m/")[1] ?? ""),
      sessionHost: msisdn, // its number's Subscriber hosts it (docs/decisions/0022)
      sessionId: "0".repeat(64),
      channel: "sms",
      createdAt: now - 20_000,
      deadline: now - BACKSTOP_MARGIN_MS, // the backstop is due now
      status: "pending",
    });
    await runAlarm(id); // (or the runtime already ran it)
    expect(await (await readAsync(id, { wait: 10 })).json()).toEqual({ id, status: "finished", code: "TOUCH_ACCEPTED" });
  });

  it(`wait is bounded: more than 30 s is a bad request`, async () => {
    const { id } = await started(await startAsync({ msisdn: freshMsisdn() }));
    const res = await readAsync(id, { wait: 31 });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: "BAD_REQUEST" });
  });
});

describe("OpenAPI", () => {
  it("the routes are described from the schemas they validate with, as a valid 3.1 path set", () => {
    const doc = asyncApi.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "async", version: "1" } });
    expect(Object.keys(doc.paths ?? {}).sort()).toEqual(["/auth", "/auth/{endpointOrId}"]);
    expect(Object.keys(doc.paths?.["/auth/{endpointOrId}"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.components?.schemas ?? {})).toEqual(
      expect.arrayContaining(["AsyncAuthRequest", "AsyncAuthStarted", "AsyncAuthStatus", "AsyncBadRequest", "AsyncNotFound"]),
    );
  });
});

describe("webhooks", () => {
  it("signed (Standard Webhooks), retried from the alarm after two failures, delivered with one webhook-id", async () => {
    const hook = `ok-${crypto.randomUUID().slice(0, 8)}`;
    const endpoint = await webhookEndpoint(`${hook}?fail=2`);
    // The secret never comes back from the admin API: only the name of the Worker secret.
    const shown = await admin("GET", `/endpoints/${endpoint.name}`);
    expect(JSON.stringify(shown.body)).not.toContain(env.TEST_WEBHOOK_SECRET);

    const msisdn = freshMsisdn();
    const { id } = await started(await startAsync({ msisdn }, { endpoint: endpoint.name, key: endpoint.key }));
    await acceptLink(msisdn);
    // The first attempt runs at the alarm the result set (due at once) and gets a 500.
    await waitForDeliveries(hook, 1);
    expect((await asyncState(id))?.webhook).toMatchObject({ state: "due", attempts: 1 });
    expect(await runAlarm(id)).toBe(true); // the retry the back-off scheduled: 500 again
    expect(await runAlarm(id)).toBe(true); // third attempt: 204
    const got = await waitForDeliveries(hook, 3);
    expect(got.map((r) => r.answered)).toEqual([500, 500, 204]);
    expect((await asyncState(id))?.webhook).toMatchObject({ state: "delivered", attempts: 3 });

    const ids = new Set(got.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    const now = Math.floor(Date.now() / 1000);
    for (const r of got) {
      const headers = {
        id: r.headers["webhook-id"] ?? null,
        timestamp: r.headers["webhook-timestamp"] ?? null,
        signature: r.headers["webhook-signature"] ?? null,
      };
      expect(await verifyWebhook(env.TEST_WEBHOOK_SECRET, headers, r.body, now)).toEqual({ ok: true });
      expect(JSON.parse(r.body)).toEqual({
        type: "auth.finished",
        timestamp: expect.any(String),
        data: { id, endpoint: endpoint.name, code: "TOUCH_ACCEPTED" },
      });
      // A tampered body, or another secret, fails verification.
      const tampered = r.body.replace("TOUCH_ACCEPTED", "TOUCH_REJECTED");
      expect(await verifyWebhook(env.TEST_WEBHOOK_SECRET, headers, tampered, now)).toEqual({ ok: false, reason: "bad_signature" });
      const other = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
      expect(await verifyWebhook(other, headers, r.body, now)).toEqual({ ok: false, reason: "bad_signature" });
    }
    // Delivered: the alarm left is the purge, which no further delivery precedes.
    await runAlarm(id);
    expect(await received(hook)).toHaveLength(3);
  });

  it("gives up after the bounded attempts, logged and audited; the result stays readable", async () => {
    const hook = `down-${crypto.randomUUID().slice(0, 8)}`;
    const endpoint = await webhookEndpoint(`${hook}?fail=1000`);
    // No SMS can be sent to this number: the session ends inside its start, before the object exists.
    const { id } = await started(await startAsync({ msisdn: freshMsisdn("0000") }, { endpoint: endpoint.name, key: endpoint.key }));
    await waitForDeliveries(hook, 1);
    for (let i = 1; i < WEBHOOK_MAX_ATTEMPTS; i++) await runAlarm(id);
    await expect.poll(async () => (await asyncState(id))?.webhook).toMatchObject({ state: "given_up", attempts: WEBHOOK_MAX_ATTEMPTS });
    expect(await received(hook)).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
    expect(new Set((await received(hook)).map((r) => r.headers["webhook-id"])).size).toBe(1);
    const row = await env.DB.prepare("SELECT actor, detail FROM audit_log WHERE action = 'webhook.gave_up' AND endpoint = ?")
      .bind(endpoint.name)
      .first<{ actor: string; detail: string }>();
    expect(row?.actor).toBe("system");
    expect(JSON.parse(row?.detail ?? "{}")).toMatchObject({ attempts: WEBHOOK_MAX_ATTEMPTS, error: "HTTP 500" });
    const res = await readAsync(id, { key: endpoint.key });
    expect(await res.json()).toEqual({ id, status: "finished", code: "FAILED_DELIVERY" });
  });

  it("a redirect is not followed: it counts as a failed attempt", async () => {
    const hook = `redir-${crypto.randomUUID().slice(0, 8)}`;
    const endpoint = await webhookEndpoint(`${hook}?redirect=1`);
    const { id } = await started(await startAsync({ msisdn: freshMsisdn("0000") }, { endpoint: endpoint.name, key: endpoint.key }));
    await waitForDeliveries(hook, 1);
    await expect.poll(async () => (await asyncState(id))?.webhook).toMatchObject({ state: "due", attempts: 1, lastError: "HTTP 307" });
    expect(await received(`${hook}-redirected`)).toHaveLength(0);
  });

  it("webhook settings are checked: https only (http only to localhost), a named Worker secret", async () => {
    const bad = [
      { url: "http://example.com/hook", signingSecret: { secret: "TEST_WEBHOOK_SECRET" } },
      { url: "ftp://example.com/hook", signingSecret: { secret: "TEST_WEBHOOK_SECRET" } },
      { url: "https://example.com/hook", signingSecret: { secret: "whsec_literal" } },
      { url: "https://example.com/hook", signingSecret: "whsec_abc" },
    ];
    for (const webhook of bad) {
      const res = await admin("POST", "/endpoints", { name: `wh-bad-${crypto.randomUUID().slice(0, 8)}`, webhook });
      expect(res.status, JSON.stringify(webhook)).toBe(400);
    }
  });
});
