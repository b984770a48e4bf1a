import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { classifyEdgeResponse } from "../../relay/src/edge-response";
import { mintRelayToken } from "../../core/contracts/relay-token";
import { ADMIN_TOKEN } from "../support/keys";
import { judgePin, pinNoticeText } from "../../core/number-pin";
import { isTransientPlatformError } from "../../workers/lib/platform-errors";
import { totpCode } from "../../core/otp";
import { sealSeed } from "../../core/seed-crypto";
import { freshMsisdn, gatewayRequests } from "./support/magic-link";

/**
 * Issue 10 on the edge side of the relay API: pinned numbers (item 1), refusals that are
 * never "unavailable" (item 3), single-use tokens for this edge only (item 6).
 */
const EDGE = "https://mfa.example.com";
let key: CryptoKey;
let baseConfig: Record<string, unknown>;
let testEnv: Env;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  const publicJwk = await exportJWK(pair.publicKey);
  baseConfig = JSON.parse(env.MFA_CONFIG);
  const endpoints = baseConfig.endpoints as Array<Record<string, unknown>>;
  baseConfig.endpoints = [...endpoints, { name: "site-after-notice", numberChange: "accept-after-notice", numberChangeNoticeHours: 1 }];
  baseConfig.relays = [
    { name: "site-a1", publicJwk, endpoint: "other" },
    { name: "site-a2", publicJwk, endpoint: "other" },
    { name: "lenient", publicJwk, endpoint: "site-after-notice" },
    { name: "orphan", publicJwk, endpoint: "missing" },
  ];
  testEnv = { ...env, MFA_CONFIG: JSON.stringify(baseConfig) } as Env;
});

const worker = async () => (await import("../../workers/index")).default;
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

async function send(path: string, body: string, token: string, opts: { origin?: string; env?: Env } = {}) {
  const res = await (await worker()).fetch(
    new Request(`${opts.origin ?? EDGE}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body,
    }),
    opts.env ?? testEnv,
    ctx,
  );
  return { status: res.status, text: await res.text() };
}
async function call(relay: string, path: string, payload: Record<string, unknown>, opts: { env?: Env } = {}) {
  const body = JSON.stringify(payload);
  const r = await send(path, body, await mintRelayToken(key, relay, EDGE, "POST", path, body), opts);
  return { ...r, json: JSON.parse(r.text) as Record<string, unknown> };
}
async function admin(method: string, path: string, body?: unknown) {
  const res = await (await worker()).fetch(
    new Request(`${EDGE}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
    testEnv,
    ctx,
  );
  return { status: res.status, json: res.status === 204 ? null : ((await res.json()) as Record<string, unknown>) };
}
const uniqueUser = () => `user-${crypto.randomUUID().slice(0, 8)}`;
const NUMBER_CALLS: Array<[string, Record<string, unknown>]> = [
  ["/api/relay/v1/subscriber", {}],
  ["/api/relay/v1/totp/verify", { code: "123456" }],
  ["/api/relay/v1/challenge-response/verify", { challenge: "482913", code: "12345678" }],
  ["/api/relay/v1/sms-otp", {}],
  ["/api/relay/v1/touch", { timeoutSeconds: 15 }],
];

describe("relay tokens: single use, for this edge only (item 6)", () => {
  it("refuses a replayed token within its lifetime", async () => {
    const path = "/api/relay/v1/subscriber";
    const body = JSON.stringify({ username: uniqueUser(), msisdn: freshMsisdn() });
    const token = await mintRelayToken(key, "site-a1", EDGE, "POST", path, body);
    expect((await send(path, body, token)).status).toBe(200);
    const again = await send(path, body, token);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.text).reason).toBe("replayed token");
  });

  it("requires the edge's own origin as audience (PUBLIC_BASE_URL when set)", async () => {
    const path = "/api/relay/v1/subscriber";
    const body = JSON.stringify({ username: uniqueUser(), msisdn: freshMsisdn() });
    for (const aud of ["https://staging.mfa.example.com", "edge-mfa-relay-api", `${EDGE}/api`]) {
      const r = await send(path, body, await mintRelayToken(key, "site-a1", aud, "POST", path, body));
      expect(r.status).toBe(401);
      expect(r.text).toMatch(/aud/);
    }
    // Behind a public name, a token for the name the request happened to arrive on is refused.
    const pub = { ...testEnv, PUBLIC_BASE_URL: "https://mfa.public.example/" } as Env;
    expect((await send(path, body, await mintRelayToken(key, "site-a1", EDGE, "POST", path, body), { env: pub })).status).toBe(401);
    expect(
      (await send(path, body, await mintRelayToken(key, "site-a1", "https://mfa.public.example", "POST", path, body), { env: pub })).status,
    ).toBe(200);
  });
});

describe("pinned numbers (item 1)", () => {
  it("pins the first number; another one is refused as number_changed on every call, and nothing reaches it", async () => {
    const username = uniqueUser();
    const pinned = freshMsisdn();
    const attacker = freshMsisdn();
    expect((await call("site-a1", "/api/relay/v1/subscriber", { username, msisdn: pinned })).status).toBe(200);
    for (const [path, extra] of NUMBER_CALLS) {
      // Another relay of the same site (same endpoint), another spelling of the username.
      const r = await call("site-a2", path, { username: username.toUpperCase(), msisdn: attacker, ...extra });
      expect([path, r.status, r.json]).toEqual([path, 409, { error: "number_changed" }]);
    }
    expect(await gatewayRequests(attacker)).toEqual([]);
    // The pinned number was told once, however many attempts.
    const notices = await gatewayRequests(pinned);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain(`a sign-in as ${username} tried to use another phone number`);
    const pin = await admin("GET", `/relay-pins/other/${username}`);
    expect(pin.json).toMatchObject({ msisdn: pinned, pending: { msisdn: attacker } });
  });

  it("an operator confirms the pending number (only the one they checked); audited", async () => {
    const username = uniqueUser();
    const [oldNumber, newNumber, other] = [freshMsisdn(), freshMsisdn(), freshMsisdn()];
    await call("site-a1", "/api/relay/v1/subscriber", { username, msisdn: oldNumber });
    expect((await admin("POST", `/relay-pins/other/${username}/confirm`, {})).status).toBe(409); // nothing pending
    expect((await call("site-a1", "/api/relay/v1/subscriber", { username, msisdn: newNumber })).status).toBe(409);
    expect((await admin("GET", "/relay-pins?pending=true&endpoint=other")).json!.pins).toEqual(
      expect.arrayContaining([expect.objectContaining({ username, pending: expect.objectContaining({ msisdn: newNumber }) })]),
    );
    expect((await admin("POST", `/relay-pins/other/${username}/confirm`, { msisdn: other })).status).toBe(409);
    const confirmed = await admin("POST", `/relay-pins/other/${username.toUpperCase()}/confirm`, { msisdn: newNumber });
    expect(confirmed.json).toMatchObject({ username, msisdn: newNumber, pending: null });
    expect((await call("site-a1", "/api/relay/v1/subscriber", { username, msisdn: newNumber })).status).toBe(200);
    expect((await call("site-a1", "/api/relay/v1/subscriber", { username, msisdn: oldNumber })).status).toBe(409);
    const { results } = await env.DB.prepare(
      "SELECT actor, action, msisdn FROM audit_log WHERE kind = 'admin' AND detail LIKE ? ORDER BY id",
    )
      .bind(`%${username}%`)
      .all();
    expect(results.map((r) => r.action)).toEqual([
      "relay_pin.create",
      "relay_pin.change_pending",
      "relay_pin.confirm",
      "relay_pin.change_pending",
    ]);
    expect(JSON.stringify(results)).not.toContain(newNumber); // masked
    // Cancel and remove, audited too.
    expect((await admin("DELETE", `/relay-pins/other/${username}/pending`)).status).toBe(204);
    expect((await admin("DELETE", `/relay-pins/other/${username}`)).status).toBe(204);
    expect((await admin("GET", `/relay-pins/other/${username}`)).status).toBe(404);
    expect((await call("site-a1", "/api/relay/v1/subscriber", { username, msisdn: other })).status).toBe(200); // pins anew
  });

  it("two relays racing on a user's first login agree on one pin", async () => {
    const username = uniqueUser();
    const numbers = Array.from({ length: 6 }, () => freshMsisdn());
    const results = await Promise.all(
      numbers.map((msisdn, i) => call(i % 2 ? "site-a1" : "site-a2", "/api/relay/v1/subscriber", { username, msisdn })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const pinned = numbers[results.findIndex((r) => r.status === 200)];
    expect((await admin("GET", `/relay-pins/other/${username}`)).json!.msisdn).toBe(pinned);
  });

  it("accept-after-notice: the change applies once it has been pending for the notice period", async () => {
    const username = uniqueUser();
    const [oldNumber, newNumber] = [freshMsisdn(), freshMsisdn()];
    await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: oldNumber });
    expect((await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: newNumber })).status).toBe(409);
    expect((await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: newNumber })).status).toBe(409);
    await env.DB.prepare("UPDATE relay_pins SET pending_at = pending_at - 3600000 WHERE username = ?").bind(username).run();
    expect((await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: newNumber })).status).toBe(200);
    expect((await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: oldNumber })).status).toBe(409);
  });

  it("accept-after-notice: the pinned number reported again withdraws a pending change (no stale pending to cash in later)", async () => {
    const username = uniqueUser();
    const [oldNumber, attacker] = [freshMsisdn(), freshMsisdn()];
    await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: oldNumber });
    // The attacker sets the directory's mobile to their own phone once (refused, pending), then back.
    expect((await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: attacker })).status).toBe(409);
    expect((await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: oldNumber })).status).toBe(200);
    expect((await admin("GET", `/relay-pins/site-after-notice/${username}`)).json).toMatchObject({ msisdn: oldNumber, pending: null });
    const withdrawn = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'relay_pin.change_withdrawn' AND detail LIKE ?",
    )
      .bind(`%${username}%`)
      .first<{ n: number }>();
    expect(withdrawn!.n).toBe(1);
    // Days later the attacker sets it again: a new notice period starts, nothing is applied.
    await env.DB.prepare("UPDATE relay_pins SET pending_at = pending_at - 7200000 WHERE username = ?").bind(username).run();
    expect((await call("lenient", "/api/relay/v1/subscriber", { username, msisdn: attacker })).status).toBe(409);
    expect((await admin("GET", `/relay-pins/site-after-notice/${username}`)).json).toMatchObject({
      msisdn: oldNumber,
      pending: { msisdn: attacker },
    });
  });

  it("judgePin: only the pinned number matches under confirm; after-notice needs the same number for the whole period", () => {
    const pin = { msisdn: "+46700000001", pending_msisdn: "+46700000002", pending_at: 1_000 };
    expect(judgePin(pin, "+46700000001", 5_000, "confirm", 100).kind).toBe("match");
    expect(judgePin(pin, "+46700000002", 1e9, "confirm", 100).kind).toBe("mismatch");
    expect(judgePin(pin, "+46700000002", 1_099, "accept-after-notice", 100).kind).toBe("mismatch");
    expect(judgePin(pin, "+46700000002", 1_100, "accept-after-notice", 100).kind).toBe("apply_pending");
    expect(judgePin(pin, "+46700000003", 1e9, "accept-after-notice", 100).kind).toBe("mismatch");
  });

  it("the pinned number's notice says what was attempted: a sign-in, or a password reset", () => {
    expect(pinNoticeText("alice", "+46*****0002")).toContain("a sign-in as alice tried to use another phone number (+46*****0002)");
    const reset = pinNoticeText("alice", "+46*****0002", "password-reset");
    expect(reset).toContain("a password reset for alice tried to use another phone number");
    expect(reset).not.toContain("sign-in");
  });

  it("refuses calls without a username", async () => {
    const r = await call("site-a1", "/api/relay/v1/subscriber", { msisdn: freshMsisdn() });
    expect(r.status).toBe(400);
    expect(r.text).toContain("username");
  });
});

describe("edge faults are refusals, never 'unavailable' (item 3)", () => {
  const Verdict = z.object({ result: z.enum(["accept", "reject", "expired", "locked"]) });
  const Subscriber = z.object({ totp: z.boolean(), app: z.boolean() });

  it("a rotated SEED_ENCRYPTION_KEY: the stored seed no longer opens, and even its right code is rejected", async () => {
    const msisdn = freshMsisdn();
    const otherKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const seed = crypto.getRandomValues(new Uint8Array(20));
    const sealed = await sealSeed(otherKey, seed, "onprem-totp-token");
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.put("totpToken", { seed: sealed }));
    const r = await call("site-a1", "/api/relay/v1/totp/verify", {
      username: uniqueUser(),
      msisdn,
      code: await totpCode(seed, Date.now()),
    });
    // Before: openSeed threw, the edge answered 500, and a relay in failMode "safe" accepted.
    expect([r.status, r.json]).toEqual([200, { result: "reject" }]);
    expect(classifyEdgeResponse(r.status, r.text, Verdict)).toEqual({ kind: "ok", value: { result: "reject" } });
  });

  it("a relay whose endpoint is missing, and an invalid MFA_CONFIG, are refusals", async () => {
    const missing = await call("orphan", "/api/relay/v1/subscriber", { username: uniqueUser(), msisdn: freshMsisdn() });
    expect(missing.status).toBe(500);
    expect(classifyEdgeResponse(missing.status, missing.text, Subscriber).kind).toBe("refused");
    const broken = await call(
      "site-a1",
      "/api/relay/v1/subscriber",
      { username: uniqueUser(), msisdn: freshMsisdn() },
      { env: { ...testEnv, MFA_CONFIG: '{"relays": 5' } as Env },
    );
    expect(broken.status).toBe(500);
    expect(classifyEdgeResponse(broken.status, broken.text, Subscriber).kind).toBe("refused");
  });

  it("only a retryable platform error that is not an overload counts as unavailable", () => {
    expect(isTransientPlatformError(Object.assign(new Error("reset"), { retryable: true }))).toBe(true);
    expect(isTransientPlatformError(Object.assign(new Error("overloaded"), { retryable: true, overloaded: true }))).toBe(false);
    expect(isTransientPlatformError(new Error("OperationError"))).toBe(false);
    expect(isTransientPlatformError("x")).toBe(false);
  });
});
