import { env, exports } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { mintRelayToken } from "../../core/contracts/relay-token";
import { RELAY_LINK_PATH } from "../../core/contracts/relay-link";
import { ADMIN_TOKEN, KEYS } from "../support/keys";
import { answer, freshMsisdn, openLink, waitForLink } from "./support/magic-link";
import { type OpenApiDoc, expectConforms, fetchDocument } from "./support/openapi-conformance";

/**
 * Real calls to every public API, success and refusal, each checked against the document at
 * /openapi.json for its path, method and status: documented status, content type, required
 * headers, and a body that validates strictly (no field the document does not name).
 */
const EDGE = "https://mfa.example.com";
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
let doc: OpenApiDoc;
let relayKey: CryptoKey;
let relayEnv: Env;

beforeAll(async () => {
  doc = await fetchDocument();
  const pair = await generateKeyPair("ES256");
  relayKey = pair.privateKey;
  const cfg = JSON.parse(env.MFA_CONFIG);
  cfg.relays = [{ name: "oa-relay", publicJwk: await exportJWK(pair.publicKey), endpoint: "other" }];
  relayEnv = { ...env, MFA_CONFIG: JSON.stringify(cfg) } as Env;
});

/** One call through the Worker, checked against the document; answers status and parsed body. */
async function call(method: string, path: string, init: { headers?: Record<string, string>; body?: string; env?: Env } = {}) {
  const req = new Request(`${EDGE}${path}`, {
    method,
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const worker = (await import("../../workers/index")).default;
  const res = init.env ? await worker.fetch(req, init.env, ctx) : await exports.default.fetch(req);
  const status = res.status;
  const body = (await expectConforms(doc, method, path, res)) as Record<string, any> | null;
  return { status, body };
}
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
const magicLink = (endpoint: string, msisdn: string, key: string | null, extra = "") =>
  call("GET", `/api/sfwa/auth${endpoint ? `/${endpoint}` : ""}?msisdn=${encodeURIComponent(msisdn)}${extra}`, {
    headers: key ? { "api-key": key } : {},
  });
const admin = (method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) =>
  call(method, `/admin/v1${path}`, {
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
async function relay(path: string, payload: unknown, opts: { token?: string | null } = {}) {
  const body = JSON.stringify(payload);
  const full = `/api/relay/v1${path}`;
  const token = opts.token === undefined ? await mintRelayToken(relayKey, "oa-relay", EDGE, "POST", full, body) : opts.token;
  return call("POST", full, { ...json(payload, token ? { authorization: `Bearer ${token}` } : {}), env: relayEnv });
}

describe("responses match the OpenAPI document", () => {
  it("Magic Link API: an accepted call (server and cloud style), and BAD_REQUEST refusals", async () => {
    const msisdn = freshMsisdn();
    const pending = magicLink("", msisdn, KEYS.default);
    const link = await waitForLink(msisdn);
    await answer(link, "accept", (await openLink(link)).csrf ?? "");
    expect(await pending).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });

    // A cloud-style endpoint, made through the admin API: ACCEPT, not TOUCH_ACCEPTED.
    const name = `oa-cloud-${crypto.randomUUID().slice(0, 8)}`;
    expect((await admin("POST", "/endpoints", { name, responseStyle: "cloud", timeoutSeconds: 15 })).status).toBe(201);
    const token = await admin("POST", `/endpoints/${name}/tokens`, { name: "t" });
    const cloudNumber = freshMsisdn();
    const cloud = magicLink(name, cloudNumber, token.body?.secret);
    const cloudLink = await waitForLink(cloudNumber);
    await answer(cloudLink, "reject", (await openLink(cloudLink)).csrf ?? "");
    expect(await cloud).toEqual({ status: 200, body: { code: "REJECT" } });

    expect(await magicLink("", freshMsisdn(), null)).toEqual({ status: 400, body: { code: "BAD_REQUEST" } });
    expect(await magicLink("", "not-a-number", KEYS.default)).toEqual({ status: 400, body: { code: "BAD_REQUEST" } });
    expect(await magicLink("other", freshMsisdn(), KEYS.default)).toEqual({ status: 400, body: { code: "BAD_REQUEST" } });
    expect(await magicLink("", freshMsisdn(), KEYS.default, "&touch-timeout=5")).toEqual({ status: 400, body: { code: "BAD_REQUEST" } });
    expect(await magicLink("", freshMsisdn(), KEYS.expired)).toEqual({ status: 400, body: { code: "BAD_REQUEST" } });
  });

  it("Magic Link API: the rate limit's 429 (with Retry-After documented)", async () => {
    const msisdn = freshMsisdn("0000"); // the fake gateway refuses this suffix at once: FAILED_DELIVERY, then 429
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await magicLink("strict", msisdn, KEYS.strict)).status);
    expect(statuses).toContain(429);
  });

  it("offline API: checks, a bad body, a missing key, and an endpoint that did not opt in", async () => {
    const msisdn = freshMsisdn();
    const key = { "api-key": KEYS.default };
    expect(await call("POST", "/api/offline/totp", json({ msisdn, code: "123456" }, key))).toEqual({ status: 200, body: { valid: false } });
    expect(await call("POST", "/api/offline/totp/default", json({ msisdn, code: "654321" }, key))).toEqual({
      status: 200,
      body: { valid: false },
    });
    const signed = { msisdn, challenge: "482913", code: "12345678" };
    expect((await call("POST", "/api/offline/challenge-response", json(signed, key))).status).toBe(200);
    expect((await call("POST", "/api/offline/challenge-response/default", json(signed, key))).status).toBe(200);
    expect(await call("POST", "/api/offline/totp", json({ msisdn: "x", code: "1" }, key))).toEqual({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
    expect((await call("POST", "/api/offline/totp", { headers: { ...key, "content-type": "text/plain" }, body: "{}" })).status).toBe(400);
    expect((await call("POST", "/api/offline/totp", json({ msisdn, code: "1" }))).status).toBe(400);
    expect(
      (await call("POST", "/api/offline/totp", { headers: { ...key, "content-type": "application/json" }, body: "{not json" })).status,
    ).toBe(400);
    expect((await call("POST", "/api/offline/totp", json({ msisdn, code: "1".repeat(70_000) }, key))).status).toBe(413);
    expect(await call("POST", "/api/offline/totp/other", json({ msisdn, code: "1" }, { "api-key": KEYS.other }))).toEqual({
      status: 403,
      body: { code: "BAD_REQUEST" },
    });
  });

  it("relay API: each call's answer, bad input, no token, and the link without an upgrade", async () => {
    const msisdn = freshMsisdn();
    const who = { username: `oa-${crypto.randomUUID().slice(0, 6)}`, msisdn };
    expect(await relay("/subscriber", who)).toEqual({ status: 200, body: { totp: false, app: false } });
    expect((await relay("/totp/verify", { ...who, code: "123456" })).body).toEqual({ result: "reject" });
    expect((await relay("/challenge-response/verify", { ...who, challenge: "482913", code: "12345678" })).body).toEqual({
      result: "reject",
    });
    const sent = await relay("/sms-otp", who);
    expect(sent.body).toMatchObject({ code: "SENT", delivery: "sms" });
    expect((await relay("/sms-otp/verify", { msisdn, challengeId: sent.body?.challengeId, code: "000000" })).body?.result).toMatch(
      /reject|expired/,
    );
    const nas = { address: "10.0.0.1", identifier: "vpn-1" };
    const issued = await relay("/challenge/issue", {
      ...who,
      user: who.username,
      nas,
      method: "sms",
      challengeId: sent.body?.challengeId,
      ttlSeconds: 60,
    });
    expect(issued.status).toBe(200);
    expect((await relay("/challenge/redeem", { state: issued.body?.state, user: who.username, nas })).body).toMatchObject({ result: "ok" });
    expect((await relay("/challenge/redeem", { state: issued.body?.state, user: who.username, nas })).body).toEqual({ result: "unknown" });

    const touchNumber = freshMsisdn();
    const touch = relay("/touch", { username: `oa-t-${crypto.randomUUID().slice(0, 6)}`, msisdn: touchNumber, timeoutSeconds: 15 });
    const link = await waitForLink(touchNumber);
    await answer(link, "accept", (await openLink(link)).csrf ?? "");
    expect(await touch).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });

    expect((await relay("/subscriber", { ...who, msisdn: "nope" })).status).toBe(400);
    expect((await relay("/totp/verify", { ...who, code: 5 })).status).toBe(400);
    expect((await relay("/subscriber", who, { token: null })).status).toBe(401);
    // The number pinned for the user is the first one: another is refused.
    expect(await relay("/subscriber", { ...who, msisdn: freshMsisdn() })).toEqual({ status: 409, body: { error: "number_changed" } });

    const linkToken = await mintRelayToken(relayKey, "oa-relay", EDGE, "GET", RELAY_LINK_PATH, "");
    expect((await call("GET", RELAY_LINK_PATH, { headers: { authorization: `Bearer ${linkToken}` }, env: relayEnv })).status).toBe(426);
    expect((await call("GET", RELAY_LINK_PATH, { headers: { upgrade: "websocket" }, env: relayEnv })).status).toBe(401);
  });

  it("admin API: endpoints, tokens, subscribers, TOTP, audit and pins, and their refusals", async () => {
    const name = `oa-${crypto.randomUUID().slice(0, 8)}`;
    expect((await admin("GET", "/endpoints", undefined, null)).status).toBe(401);
    expect((await admin("GET", "/endpoints", undefined, "wrong-token")).status).toBe(401);
    expect((await admin("POST", "/endpoints", { name, timeoutSeconds: 60, texts: { title: "OA" } })).status).toBe(201);
    expect((await admin("POST", "/endpoints", { name })).status).toBe(409);
    expect((await admin("POST", "/endpoints", { name: "bad name!" })).status).toBe(400);
    const malformed = { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: "{not json" };
    expect(await call("POST", "/admin/v1/endpoints", malformed)).toEqual({ status: 400, body: "Malformed JSON in request body" });
    expect((await admin("GET", "/endpoints")).status).toBe(200);
    expect((await admin("GET", `/endpoints/${name}`)).body?.settings.timeoutSeconds).toBe(60);
    expect((await admin("PATCH", `/endpoints/${name}`, { responseStyle: "cloud" })).body?.settings.responseStyle).toBe("cloud");
    expect((await admin("PATCH", `/endpoints/${name}`, { timeoutSeconds: 1 })).status).toBe(400);
    expect((await admin("GET", "/endpoints/no-such-endpoint")).status).toBe(404);

    const created = await admin("POST", `/endpoints/${name}/tokens`, { name: "t1", expires: "2999-12-31" });
    expect(created.status).toBe(201);
    expect((await admin("GET", `/endpoints/${name}/tokens`)).body?.tokens).toHaveLength(1);
    expect((await admin("POST", `/endpoints/${name}/tokens/${created.body?.id}/regenerate`)).status).toBe(200);
    expect((await admin("DELETE", `/endpoints/${name}/tokens/${created.body?.id}`)).status).toBe(204);
    expect((await admin("DELETE", `/endpoints/${name}/tokens/${created.body?.id}`)).status).toBe(404);
    expect((await admin("POST", `/endpoints/${name}/tokens/nope/regenerate`)).status).toBe(404);
    expect((await admin("GET", "/endpoints/no-such-endpoint/tokens")).status).toBe(404);

    const msisdn = encodeURIComponent(freshMsisdn());
    expect((await admin("GET", `/subscribers/${msisdn}`)).status).toBe(200);
    expect((await admin("GET", "/subscribers/not-a-number")).status).toBe(400);
    expect((await admin("DELETE", `/subscribers/${msisdn}/locks?kind=offline`)).body).toMatchObject({ cleared: [] });
    expect((await admin("DELETE", `/subscribers/${msisdn}/devices/nope`)).status).toBe(404);
    expect((await admin("PUT", `/subscribers/${msisdn}/totp`, {})).status).toBe(201);
    expect((await admin("DELETE", `/subscribers/${msisdn}/totp`)).status).toBe(204);
    expect((await admin("DELETE", `/subscribers/${msisdn}/totp`)).status).toBe(404);

    const audit = await admin("GET", `/audit?kind=admin&limit=2`);
    expect(audit.body?.entries).toHaveLength(2);
    expect((await admin("GET", `/audit?limit=0`)).status).toBe(400);

    expect((await admin("GET", "/relay-pins?pending=true")).status).toBe(200);
    expect((await admin("GET", "/relay-pins/other/nobody")).status).toBe(404);
    expect((await admin("POST", "/relay-pins/other/nobody/confirm", {})).status).toBe(409);
    expect((await admin("DELETE", "/relay-pins/other/nobody/pending")).status).toBe(404);
    expect((await admin("DELETE", "/relay-pins/other/nobody")).status).toBe(404);
    expect((await admin("DELETE", `/endpoints/${name}`)).status).toBe(204);
    expect((await admin("DELETE", `/endpoints/${name}`)).status).toBe(404);
    expect((await admin("POST", "/endpoints", { name, texts: { sms: "x".repeat(70_000) } })).status).toBe(413);
  });

  it("relay pins as they are: a pinned user's pin, shown and removed", async () => {
    const who = { username: `oa-pin-${crypto.randomUUID().slice(0, 6)}`, msisdn: freshMsisdn() };
    expect((await relay("/subscriber", who)).status).toBe(200);
    const pin = await admin("GET", `/relay-pins/other/${who.username}`);
    expect(pin.body).toMatchObject({ endpoint: "other", username: who.username, msisdn: who.msisdn, pending: null });
    expect((await admin("GET", "/relay-pins?endpoint=other")).body?.pins.length).toBeGreaterThan(0);
    expect((await admin("DELETE", `/relay-pins/other/${who.username}`)).status).toBe(204);
  });

  it("async API: started (default and named endpoint), pending, finished, not found, and BAD_REQUEST refusals", async () => {
    const msisdn = freshMsisdn();
    const start = await call("POST", "/api/v2/auth", json({ msisdn }, { "api-key": KEYS.default }));
    expect(start.status).toBe(202);
    const id = String(start.body?.id);
    const pending = await call("GET", `/api/v2/auth/${id}`, { headers: { "api-key": KEYS.default } });
    expect(pending).toMatchObject({ status: 200, body: { status: "pending" } });
    const link = await waitForLink(msisdn);
    const { csrf } = await openLink(link);
    expect((await answer(link, "accept", csrf ?? "")).status).toBe(200);
    const done = await call("GET", `/api/v2/auth/${id}?wait=5`, { headers: { "api-key": KEYS.default } });
    expect(done).toMatchObject({ status: 200, body: { status: "finished", code: "TOUCH_ACCEPTED" } });
    // Another endpoint's key, or none: the same 404 as an unknown id.
    expect((await call("GET", `/api/v2/auth/${id}`, { headers: { "api-key": KEYS.other } })).status).toBe(404);
    expect((await call("GET", `/api/v2/auth/${"x".repeat(43)}`, { headers: { "api-key": KEYS.default } })).status).toBe(404);
    const named = await call("POST", "/api/v2/auth/other", json({ msisdn: freshMsisdn() }, { "api-key": KEYS.other }));
    expect(named.status).toBe(202);
    expect(await call("POST", "/api/v2/auth", json({ msisdn: "0701234567" }, { "api-key": KEYS.default }))).toMatchObject({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
    expect((await call("POST", "/api/v2/auth", json({ msisdn: freshMsisdn() }, { "api-key": "wrong" }))).status).toBe(400);
    expect((await call("GET", `/api/v2/auth/${id}?wait=-1`, { headers: { "api-key": KEYS.default } })).status).toBe(400);
  });

  it("the service's own routes", async () => {
    expect(await call("GET", "/healthz")).toEqual({ status: 200, body: { ok: true } });
    expect((await call("GET", "/openapi.json")).body?.openapi).toBe("3.1.0");
  });
});

describe("the conformance check itself", () => {
  const res = (status: number, body: string, type = "application/json") =>
    new Response(body, { status, headers: { "content-type": type } });
  it("refuses an undocumented field, status, content type, or a missing body", async () => {
    await expect(expectConforms(doc, "GET", "/api/sfwa/auth", res(200, '{"code":"TOUCH_ACCEPTED"}'))).resolves.toEqual({
      code: "TOUCH_ACCEPTED",
    });
    await expect(expectConforms(doc, "GET", "/api/sfwa/auth", res(200, '{"code":"TOUCH_ACCEPTED","reason":"x"}'))).rejects.toThrow(
      /does not match/,
    );
    await expect(expectConforms(doc, "GET", "/api/sfwa/auth", res(200, '{"code":"MAYBE"}'))).rejects.toThrow(/does not match/);
    await expect(expectConforms(doc, "GET", "/api/sfwa/auth/x", res(418, "{}"))).rejects.toThrow(/not documented/);
    await expect(expectConforms(doc, "GET", "/api/sfwa/auth", res(403, '{"code":"BAD_REQUEST"}'))).rejects.toThrow(/not documented/);
    await expect(expectConforms(doc, "GET", "/api/sfwa/auth", res(200, "<html>", "text/html"))).rejects.toThrow(/content type/);
    await expect(expectConforms(doc, "POST", "/api/offline/totp", res(200, '{"valid":"yes"}'))).rejects.toThrow(/does not match/);
    await expect(expectConforms(doc, "GET", "/admin/v1/audit", res(200, '{"entries":[{"id":1}],"next":null}'))).rejects.toThrow(
      /does not match/,
    );
    await expect(expectConforms(doc, "GET", "/dev/outbox", res(200, "{}"))).rejects.toThrow(/not in the document/);
  });
});
