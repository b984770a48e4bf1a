import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/tokens";
import { LOGIN_PER_IP, LOGIN_PER_NAME } from "../../workers/domain/console-login";
import {
  DEVICE_MAX_AGE_MS,
  DEVICE_MAX_FAILURES,
  LOGIN_PER_DEVICE,
  deviceBucketKey,
  deviceStanding,
} from "../../workers/domain/console-device";
import { admitByKey } from "../../workers/domain/ip-limit";
import { ConsoleBrowser } from "./support/console";

/**
 * Device cookies for console sign-in: a flood of guesses at an operator's name (its shared
 * bucket empty) does not lock that operator out of a browser they signed in from before, and
 * the cookie itself never signs anyone in.
 */

const DEVICE_COOKIE = "__Host-edge-mfa-console-device";
const SESSION_COOKIE = "__Host-edge-mfa-console";

interface Operator {
  name: string;
  secret: string;
}
const newOperator = (): Operator => ({ name: `op-${crypto.randomUUID().slice(0, 8)}`, secret: `secret-${crypto.randomUUID()}` });
const tokensFor = async (...ops: Operator[]) =>
  JSON.stringify(await Promise.all(ops.map(async (o) => ({ name: o.name, sha256: await sha256Hex(o.secret) }))));

const deviceRow = async (id: string) =>
  env.DB.prepare("SELECT * FROM console_devices WHERE id_sha256 = ?")
    .bind(await sha256Hex(id))
    .first<{ operator: string; credential: string; created_at: number; failures: number }>();

/** Empties the name's shared bucket with wrong tokens, each from an address of its own (until the first 429). */
async function flood(name: string, tokens: string): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i <= LOGIN_PER_NAME.perMinute && statuses.at(-1) !== 429; i++) {
    statuses.push((await new ConsoleBrowser({ ADMIN_TOKENS: tokens }).signIn(name, `guess-${i}`)).status);
  }
  expect(statuses.at(-1)).toBe(429);
  expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
}

/** A browser that signed in as `op` once (so it holds a device cookie) and signed out again. */
async function knownBrowser(op: Operator, tokens: string): Promise<ConsoleBrowser> {
  const b = new ConsoleBrowser({ ADMIN_TOKENS: tokens });
  expect((await b.signIn(op.name, op.secret)).status).toBe(303);
  await b.get("/admin/endpoints");
  expect((await b.post("/admin/logout")).status).toBe(303);
  expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
  return b;
}

describe("console device cookies", () => {
  it("a good sign-in sets a __Host- device cookie for 90 days, stored only as a hash; sign-out keeps it", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const b = new ConsoleBrowser({ ADMIN_TOKENS: tokens });
    const res = await b.signIn(op.name, op.secret);
    expect(res.status).toBe(303);
    const set = res.headers.getSetCookie().find((c) => c.startsWith(`${DEVICE_COOKIE}=`)) ?? "";
    expect(set).toMatch(/; Path=\/(;|$)/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(new RegExp(`; Max-Age=${DEVICE_MAX_AGE_MS / 1000}(;|$)`));
    expect(DEVICE_MAX_AGE_MS / 1000).toBe(90 * 86_400);
    expect(set).not.toMatch(/Domain=/i);
    const id = b.cookies.get(DEVICE_COOKIE) ?? "";
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toBe(b.cookies.get(SESSION_COOKIE));
    const row = await deviceRow(id);
    expect(row?.operator).toBe(op.name);
    expect(row?.failures).toBe(0);
    const all = await env.DB.prepare("SELECT * FROM console_devices").all();
    expect(JSON.stringify(all.results)).not.toContain(id);
    expect(JSON.stringify(all.results)).not.toContain(op.secret);

    await b.get("/admin/endpoints");
    const out = await b.post("/admin/logout");
    expect(out.headers.getSetCookie().some((c) => c.startsWith(`${DEVICE_COOKIE}=`))).toBe(false);
    expect(b.cookies.get(DEVICE_COOKIE)).toBe(id);
    expect(await deviceRow(id)).not.toBeNull();
  });

  it("a flooded name: the operator with a device cookie still signs in with the right token; without one, 429", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const b = await knownBrowser(op, tokens);
    const oldId = b.cookies.get(DEVICE_COOKIE) ?? "";
    await flood(op.name, tokens);

    // Without the device cookie (a fresh browser), refused as before.
    const stranger = await new ConsoleBrowser({ ADMIN_TOKENS: tokens }).signIn(op.name, op.secret);
    expect(stranger.status).toBe(429);

    const res = await b.signIn(op.name, op.secret);
    expect(res.status).toBe(303);
    expect((await b.get("/admin/endpoints")).html).toContain(op.name);
    // A good sign-in rotates the device id; the old one is gone.
    const newId = b.cookies.get(DEVICE_COOKIE) ?? "";
    expect(newId).not.toBe(oldId);
    expect(await deviceRow(oldId)).toBeNull();
    expect((await deviceRow(newId))?.operator).toBe(op.name);
  });

  it("the device cookie alone signs nobody in: a wrong or empty token with it is a wrong login", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const b = await knownBrowser(op, tokens);
    expect((await b.signIn(op.name, "")).status).toBe(401);
    expect((await b.signIn(op.name, "not-the-token")).status).toBe(401);
    expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await b.get("/admin/endpoints")).location).toBe("/admin/login");
  });

  it("operator A's device cookie does not help a sign-in as B, and is kept", async () => {
    const a = newOperator();
    const bOp = newOperator();
    const tokens = await tokensFor(a, bOp);
    const browser = await knownBrowser(a, tokens);
    const aId = browser.cookies.get(DEVICE_COOKIE) ?? "";
    await flood(bOp.name, tokens);
    expect((await browser.signIn(bOp.name, bOp.secret)).status).toBe(429);
    expect(browser.cookies.get(DEVICE_COOKIE)).toBe(aId);
    expect((await deviceRow(aId))?.failures).toBe(0);
    // A's own sign-in still goes through the device.
    await flood(a.name, tokens);
    expect((await browser.signIn(a.name, a.secret)).status).toBe(303);
  });

  it("a forged, unknown or malformed device cookie is ignored (and cleared)", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    await flood(op.name, tokens);
    for (const forged of ["A".repeat(43), "'; DROP TABLE console_devices; --", ""]) {
      const b = new ConsoleBrowser({ ADMIN_TOKENS: tokens });
      if (forged) b.cookies.set(DEVICE_COOKIE, forged);
      const res = await b.signIn(op.name, op.secret);
      expect(res.status).toBe(429);
      expect(b.cookies.has(DEVICE_COOKIE)).toBe(false);
    }
    expect(await env.DB.prepare("SELECT 1 FROM console_devices WHERE operator = ?").bind(op.name).first()).toBeNull();
  });

  it(`wrong tokens with a device cookie count against it: ${DEVICE_MAX_FAILURES} in a row forget the device`, async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const b = await knownBrowser(op, tokens);
    const id = b.cookies.get(DEVICE_COOKIE) ?? "";
    await flood(op.name, tokens);
    for (let i = 1; i < DEVICE_MAX_FAILURES; i++) {
      expect((await b.signIn(op.name, `stolen-cookie-guess-${i}`)).status).toBe(401);
      expect((await deviceRow(id))?.failures).toBe(i);
    }
    const last = await b.signIn(op.name, "stolen-cookie-guess-last");
    expect(last.status).toBe(401);
    expect(await deviceRow(id)).toBeNull();
    expect(b.cookies.has(DEVICE_COOKIE)).toBe(false);
    // Forgotten: even the right token now meets the flooded name's bucket, with or without the old cookie.
    expect((await b.signIn(op.name, op.secret)).status).toBe(429);
    b.cookies.set(DEVICE_COOKIE, id);
    expect((await b.signIn(op.name, op.secret)).status).toBe(429);
  });

  it("a good sign-in starts the wrong-token count over", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const b = await knownBrowser(op, tokens);
    for (let i = 1; i < DEVICE_MAX_FAILURES; i++) expect((await b.signIn(op.name, `typo-${i}`)).status).toBe(401);
    expect((await b.signIn(op.name, op.secret)).status).toBe(303);
    expect((await deviceRow(b.cookies.get(DEVICE_COOKIE) ?? ""))?.failures).toBe(0);
  });

  it("a device whose own bucket is empty is refused like anyone else", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const b = await knownBrowser(op, tokens);
    const idSha256 = await sha256Hex(b.cookies.get(DEVICE_COOKIE) ?? "");
    // The device's bucket, emptied as its own attempts would (the name's bucket is untouched).
    for (let i = 0; i < LOGIN_PER_DEVICE.perMinute; i++) {
      expect((await admitByKey(env, deviceBucketKey(idSha256), "console-login-device", LOGIN_PER_DEVICE)).allowed).toBe(true);
    }
    const res = await b.signIn(op.name, op.secret);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    // Refused, not forgotten: the device is still there once its bucket refills.
    expect(b.cookies.has(DEVICE_COOKIE)).toBe(true);
    // The device's attempts never touched the name's bucket: a fresh browser still signs in.
    expect((await new ConsoleBrowser({ ADMIN_TOKENS: tokens }).signIn(op.name, op.secret)).status).toBe(303);
  });

  it("the per-address limit applies with a device cookie too", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const b = await knownBrowser(op, tokens);
    await b.get("/admin/login");
    // knownBrowser used one attempt of this address.
    for (let i = 1; i < LOGIN_PER_IP.perMinute; i++) {
      expect((await b.post("/admin/login", { name: `other${i}`, secret: "x" })).status).toBe(401);
    }
    expect((await b.post("/admin/login", { name: op.name, secret: op.secret })).status).toBe(429);
  });

  it("a rotated or removed admin token makes the old device cookie useless (and forgets it)", async () => {
    const op = newOperator();
    const tokens = await tokensFor(op);
    const rotated = await knownBrowser(op, tokens);
    const rotatedId = rotated.cookies.get(DEVICE_COOKIE) ?? "";
    const renewed = { name: op.name, secret: `rotated-${crypto.randomUUID()}` };
    const newTokens = await tokensFor(renewed);
    rotated.envOverrides.ADMIN_TOKENS = newTokens;
    await flood(op.name, newTokens);
    expect((await rotated.signIn(renewed.name, renewed.secret)).status).toBe(429);
    expect(await deviceRow(rotatedId)).toBeNull();
    expect(rotated.cookies.has(DEVICE_COOKIE)).toBe(false);

    const gone = newOperator();
    const removed = await knownBrowser(gone, await tokensFor(gone));
    const removedId = removed.cookies.get(DEVICE_COOKIE) ?? "";
    removed.envOverrides.ADMIN_TOKENS = await tokensFor(newOperator());
    expect((await removed.signIn(gone.name, gone.secret)).status).toBe(401);
    expect(await deviceRow(removedId)).toBeNull();
  });
});

describe("deviceStanding (pure)", () => {
  const now = 1_800_000_000_000;
  const row = { operator: "alice", credential: "fp-1", created_at: now - 1000 };
  it("valid only for its operator, its token's fingerprint, within 90 days", () => {
    expect(deviceStanding(row, "alice", "fp-1", now)).toBe("valid");
    expect(deviceStanding(row, "bob", "fp-1", now)).toBe("other");
    expect(deviceStanding(row, "Alice", "fp-1", now)).toBe("other");
    expect(deviceStanding(row, "alice", "fp-2", now)).toBe("dead");
    expect(deviceStanding(row, "alice", null, now)).toBe("dead");
    expect(deviceStanding({ ...row, created_at: now - DEVICE_MAX_AGE_MS }, "alice", "fp-1", now)).toBe("dead");
    expect(deviceStanding({ ...row, created_at: now - DEVICE_MAX_AGE_MS + 1 }, "alice", "fp-1", now)).toBe("valid");
    expect(deviceStanding({ ...row, created_at: now + 3_600_000 }, "alice", "fp-1", now)).toBe("dead");
  });
});
