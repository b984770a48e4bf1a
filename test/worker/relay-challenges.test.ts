import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { relayPost } from "./support/relay-call";
import { mintRelayToken } from "../../core/contracts/relay-token";
import { EDGE_STATE_BYTES, MAX_CHALLENGES_PER_USER } from "../../core/contracts/relay-challenge";
import { sha256Hex } from "../../core/tokens";

/**
 * Challenge State at the edge (issue 12 item 3): two relays of one site share pending
 * Access-Challenges through the relay API's challengeIssue / challengeRedeem. The State is
 * single use across both relays, bound to the User-Name, the NAS and the site, expires, and
 * one user holds at most MAX_CHALLENGES_PER_USER.
 */
let key: CryptoKey;
let testEnv: Env;
const EDGE = "https://mfa.example.com";

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  const publicJwk = await exportJWK(pair.publicKey);
  const cfg = JSON.parse(env.MFA_CONFIG);
  cfg.relays = [
    { name: "hq-a", publicJwk, endpoint: "other", site: "hq" },
    { name: "hq-b", publicJwk, endpoint: "other", site: "hq" },
    { name: "branch", publicJwk, endpoint: "other", site: "branch" },
  ];
  testEnv = { ...env, MFA_CONFIG: JSON.stringify(cfg) } as Env;
});

async function post(relay: string, path: string, payload: unknown, token?: string) {
  const res = await relayPost({ testEnv, key, relay, edge: EDGE, path, body: JSON.stringify(payload) }, token);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const NAS = { address: "10.0.0.1", identifier: "vpn-1" };
let seq = 0;
/** A fresh account per test, so the per-user cap of one test does not reach into another. */
const account = () => `user-${Date.now()}-${seq++}`;

async function issue(relay: string, over: Record<string, unknown> = {}) {
  const username = (over.username as string | undefined) ?? account();
  const r = await post(relay, "/api/relay/v1/challenge/issue", {
    username,
    msisdn: "+46701234567",
    user: username,
    nas: NAS,
    method: "sms",
    challengeId: "sms-challenge-1",
    ttlSeconds: 300,
    ...over,
  });
  expect(r.status).toBe(200);
  return { state: r.json.state as string, user: (over.user as string | undefined) ?? username, username };
}

const redeem = (relay: string, state: string, user: string, nas: Record<string, unknown> = NAS) =>
  post(relay, "/api/relay/v1/challenge/redeem", { state, user, nas });

const objectOf = (site: string, state: string) => testEnv.RELAY_CHALLENGES.getByName(`${site}/${state.slice(0, 16)}`);

describe("challenge State shared by the relays of a site", () => {
  it("issued on relay A, redeemed on relay B, then never again on either", async () => {
    const c = await issue("hq-a", { user: "Alice" });
    expect(c.state).toMatch(new RegExp(`^[0-9a-f]{${EDGE_STATE_BYTES * 2}}$`));
    const r = await redeem("hq-b", c.state, "Alice");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      result: "ok",
      challenge: { username: c.username, msisdn: "+46701234567", method: "sms", challengeId: "sms-challenge-1" },
    });
    expect((await redeem("hq-b", c.state, "Alice")).json).toEqual({ result: "unknown" });
    expect((await redeem("hq-a", c.state, "Alice")).json).toEqual({ result: "unknown" });
  });

  it("every State is new and random; the edge keeps only its SHA-256", async () => {
    const username = account();
    const a = await issue("hq-a", { username });
    const b = await issue("hq-a", { username });
    // Same user, same object: the owner key is shared, the secret part is not.
    expect(a.state.slice(0, 16)).toBe(b.state.slice(0, 16));
    expect(a.state.slice(16)).not.toBe(b.state.slice(16));
    const keys = await runInDurableObject(objectOf("hq", a.state), async (_i, s) => [...(await s.storage.list()).keys()]);
    expect(keys.sort()).toEqual([`c:${await sha256Hex(a.state)}`, `c:${await sha256Hex(b.state)}`].sort());
    const stored = JSON.stringify(
      await runInDurableObject(objectOf("hq", a.state), async (_i, s) => [...(await s.storage.list()).values()]),
    );
    expect(stored).not.toContain(a.state.slice(16));
    expect(stored).not.toContain(b.state.slice(16));
  });

  it("another User-Name (even another case of it) is refused, and the State is spent", async () => {
    const c = await issue("hq-a", { user: "alice" });
    expect((await redeem("hq-b", c.state, "ALICE")).json).toEqual({ result: "mismatch" });
    expect((await redeem("hq-b", c.state, "alice")).json).toEqual({ result: "unknown" });
  });

  it("another NAS is refused: another address, another NAS-Identifier, a missing or added attribute", async () => {
    for (const other of [
      { address: "10.0.0.2", identifier: "vpn-1" },
      { address: "10.0.0.1", identifier: "vpn-2" },
      { address: "10.0.0.1" },
      { ...NAS, ipAddress: "10.0.0.1" },
    ]) {
      const c = await issue("hq-a");
      expect((await redeem("hq-b", c.state, c.user, other)).json).toEqual({ result: "mismatch" });
      expect((await redeem("hq-b", c.state, c.user)).json).toEqual({ result: "unknown" });
    }
  });

  it("the same NAS seen through a dual-stack socket (IPv4-mapped IPv6) is the same NAS", async () => {
    const c = await issue("hq-a");
    expect((await redeem("hq-b", c.state, c.user, { ...NAS, address: "::ffff:10.0.0.1" })).json.result).toBe("ok");
  });

  it("a relay of another site finds nothing, and cannot spend the State either", async () => {
    const c = await issue("hq-a");
    expect((await redeem("branch", c.state, c.user)).json).toEqual({ result: "unknown" });
    expect((await redeem("hq-b", c.state, c.user)).json.result).toBe("ok");
  });

  it("an unknown or forged State is unknown", async () => {
    const c = await issue("hq-a");
    // The right owner key with another secret, and a State no one issued.
    const forged = c.state.slice(0, 16) + "0".repeat(64);
    expect((await redeem("hq-a", forged, c.user)).json).toEqual({ result: "unknown" });
    expect((await redeem("hq-a", "f".repeat(EDGE_STATE_BYTES * 2), c.user)).json).toEqual({ result: "unknown" });
    // The forgery did not spend the real one.
    expect((await redeem("hq-a", c.state, c.user)).json.result).toBe("ok");
  });

  it("expires: refused after its time, and the alarm deletes it", async () => {
    const c = await issue("hq-a", { ttlSeconds: 30 });
    const stub = objectOf("hq", c.state);
    const alarm = await runInDurableObject(stub, (_i, s) => s.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + 25_000);
    // Time passes: move the entry's expiry into the past.
    await runInDurableObject(stub, async (_i, s) => {
      const k = `c:${await sha256Hex(c.state)}`;
      const v = await s.storage.get<Record<string, number>>(k);
      await s.storage.put(k, { ...v, expiresAt: Date.now() - 1 });
    });
    expect((await redeem("hq-b", c.state, c.user)).json).toEqual({ result: "expired" });

    const d = await issue("hq-a", { ttlSeconds: 30 });
    const other = objectOf("hq", d.state);
    await runInDurableObject(other, async (_i, s) => {
      for (const [k, v] of await s.storage.list<Record<string, number>>()) await s.storage.put(k, { ...v, expiresAt: Date.now() - 1 });
      await s.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(other)).toBe(true);
    expect(await runInDurableObject(other, async (_i, s) => (await s.storage.list()).size)).toBe(0);
    expect((await redeem("hq-b", d.state, d.user)).json).toEqual({ result: "unknown" });
  });

  it(`one user holds at most ${MAX_CHALLENGES_PER_USER}: a new one evicts their oldest, never another user's`, async () => {
    const username = account();
    const victim = await issue("hq-a");
    const mine = [];
    for (let i = 0; i <= MAX_CHALLENGES_PER_USER; i++) mine.push(await issue(i % 2 ? "hq-a" : "hq-b", { username }));
    expect(await runInDurableObject(objectOf("hq", mine[0]!.state), async (_i, s) => (await s.storage.list()).size)).toBe(
      MAX_CHALLENGES_PER_USER,
    );
    expect((await redeem("hq-a", mine[0]!.state, username)).json).toEqual({ result: "unknown" });
    for (const c of mine.slice(1)) expect((await redeem("hq-b", c.state, username)).json.result).toBe("ok");
    expect((await redeem("hq-b", victim.state, victim.user)).json.result).toBe("ok");
  });

  it("two relays presenting one State at once: exactly one gets it", async () => {
    const c = await issue("hq-a");
    const both = await Promise.all([redeem("hq-a", c.state, c.user), redeem("hq-b", c.state, c.user)]);
    expect(both.map((r) => r.json.result).sort()).toEqual(["ok", "unknown"]);
  });

  it("a replayed relay token is refused, also for a redeem", async () => {
    const c = await issue("hq-a");
    const body = { state: c.state, user: c.user, nas: NAS };
    const token = await mintRelayToken(key, "hq-b", EDGE, "POST", "/api/relay/v1/challenge/redeem", JSON.stringify(body));
    expect((await post("hq-b", "/api/relay/v1/challenge/redeem", body, token)).json.result).toBe("ok");
    const replay = await post("hq-b", "/api/relay/v1/challenge/redeem", body, token);
    expect(replay.status).toBe(401);
    expect(replay.json.reason).toBe("replayed token");
    // A token for another body (another State) does not pass either.
    const other = await issue("hq-a");
    const wrong = await post("hq-b", "/api/relay/v1/challenge/redeem", { ...body, state: other.state }, token);
    expect(wrong.status).toBe(401);
    expect((await redeem("hq-b", other.state, other.user)).json.result).toBe("ok");
  });

  it("refuses malformed calls with a clear 400", async () => {
    const user = account();
    const base = { username: user, msisdn: "+46701234567", user, nas: NAS, method: "sms", ttlSeconds: 300 };
    expect((await post("hq-a", "/api/relay/v1/challenge/issue", { ...base, challengeId: "c1" })).status).toBe(200);
    for (const bad of [
      { ...base, ttlSeconds: 5 },
      { ...base, ttlSeconds: 3600 },
      { ...base, method: "push" },
      { ...base, nas: {} },
      { ...base, user: "" },
      { ...base, msisdn: "0701234567" },
      // sms without its challenge id, challenge-response without its challenge: never answerable.
      base,
      { ...base, method: "challenge-response" },
    ]) {
      expect((await post("hq-a", "/api/relay/v1/challenge/issue", bad)).status).toBe(400);
    }
    for (const state of ["", "ab", "g".repeat(80), "a".repeat(82)]) {
      const r = await post("hq-a", "/api/relay/v1/challenge/redeem", { state, user, nas: NAS });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json.issues)).toContain("state");
    }
  });
});
