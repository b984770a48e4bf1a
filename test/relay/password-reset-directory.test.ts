import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompactEncrypt, importJWK } from "jose";
import { Client, InvalidCredentialsError } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_JWE_ALG, RESET_JWE_ENC, type ResetSecret } from "../../core/contracts/reset-secret.ts";
import { PasswordResetSchema } from "../../relay/src/config.ts";
import { passwordResetHandlers } from "../../relay/src/directory/index.ts";
import { newEncryptionKey } from "../../relay/src/directory/encryption-key.ts";
import type { Logger } from "../../relay/src/log.ts";
import { type Slapd, startSlapd } from "../support/slapd.ts";

/**
 * Issue 13: the relay side of the password reset against a real slapd with the ppolicy overlay
 * (minimum length 14, history 3) and a service account that may write passwords but not manage
 * them. What the browser would send is made here the browser's way: a JWE to the public key.
 */
const ORIGINAL = "Original-pass-north-7";
const SERVICE_PASSWORD = "svc-reset-secret";
let slapd: Slapd;
let publicJwk: { kty: string; crv: string; x: string; y: string };
let keyFile: string;
const lines: string[] = [];
const log: Logger = { log: (level, event, fields) => lines.push(JSON.stringify({ level, event, ...fields })) };

beforeAll(async () => {
  slapd = await startSlapd(
    [
      { uid: "alice", password: ORIGINAL, mobile: "+46 70-111 22 33", displayName: "Alice Andersson", mail: "alice@example.com" },
      { uid: "bob", password: ORIGINAL, mobile: "0701112233" },
    ],
    { ppolicy: { minLength: 14, inHistory: 3 }, serviceAccount: { cn: "svc-reset", password: SERVICE_PASSWORD } },
  );
  const key = await newEncryptionKey();
  publicJwk = key.publicJwk;
  keyFile = join(mkdtempSync(join(tmpdir(), "reset-key-")), "enc.pem");
  writeFileSync(keyFile, key.pem, { mode: 0o600 });
});
afterAll(() => slapd?.stop());

function resetConfig(overrides: Record<string, unknown> = {}) {
  return PasswordResetSchema.parse({
    directory: "openldap",
    url: slapd.url,
    serviceAccount: { bindDn: slapd.serviceDn, bindPassword: SERVICE_PASSWORD },
    userSearch: { baseDn: slapd.baseDn, filter: "(uid={user})" },
    encryptionKeyFile: keyFile,
    // Lower than the directory's 14, so the directory's own length refusal can be seen.
    policy: { minLength: 10, minClasses: 3 },
    ...overrides,
  });
}

async function jwe(secret: Partial<ResetSecret> & { p: string; u: string }): Promise<string> {
  const plaintext = new TextEncoder().encode(JSON.stringify({ v: 1, exp: Math.floor(Date.now() / 1000) + 600, ...secret }));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: RESET_JWE_ALG, enc: RESET_JWE_ENC })
    .encrypt(await importJWK({ ...publicJwk }, RESET_JWE_ALG));
}

async function canBind(uid: string, password: string): Promise<boolean> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(`uid=${uid},ou=people,${slapd.baseDn}`, password);
    return true;
  } catch (e) {
    if (e instanceof InvalidCredentialsError) return false;
    throw e;
  } finally {
    await client.unbind().catch(() => {});
  }
}

describe("password.change against slapd + ppolicy", () => {
  it("refuses what the directory finds too short, in words, and leaves the password", async () => {
    const h = await passwordResetHandlers(resetConfig(), {}, log);
    const r = await h["password.change"]({ username: "alice", jwe: await jwe({ u: "alice", p: "Cobalt-fig-42" }) });
    expect(r).toEqual({ changed: false, reason: "policy", message: expect.stringMatching(/too short/) });
    expect(await canBind("alice", ORIGINAL)).toBe(true);
  });

  it("changes the password with Password Modify: the new one binds, the old one no longer", async () => {
    const h = await passwordResetHandlers(resetConfig(), {}, log);
    const r = await h["password.change"]({ username: "Alice", jwe: await jwe({ u: "alice", p: "Violet-kettle-47-orbits" }) });
    expect(r).toEqual({ changed: true });
    expect(await canBind("alice", "Violet-kettle-47-orbits")).toBe(true);
    expect(await canBind("alice", ORIGINAL)).toBe(false);
  });

  it("refuses a password from the history, in words", async () => {
    const h = await passwordResetHandlers(resetConfig(), {}, log);
    const r = await h["password.change"]({ username: "alice", jwe: await jwe({ u: "alice", p: ORIGINAL }) });
    expect(r).toEqual({ changed: false, reason: "policy", message: expect.stringMatching(/used this password before/) });
    expect(await canBind("alice", "Violet-kettle-47-orbits")).toBe(true);
  });

  it("checks the policy and the breached list itself before the directory sees anything", async () => {
    const h = await passwordResetHandlers(resetConfig(), {}, log);
    const breached = await h["password.change"]({ username: "bob", jwe: await jwe({ u: "bob", p: "Password12345" }) });
    expect(breached).toEqual({ changed: false, reason: "policy", message: expect.stringMatching(/leaked or common/) });
    const weak = await h["password.change"]({ username: "bob", jwe: await jwe({ u: "bob", p: "bob-lowercase-only" }) });
    expect(weak).toMatchObject({ changed: false, reason: "policy" });
    if (weak.changed) throw new Error("unreachable");
    expect(weak.message).toMatch(/must not contain your username/);
    expect(weak.message).toMatch(/at least 3 of/);
    expect(await canBind("bob", ORIGINAL)).toBe(true);
  });

  it("refuses a JWE made for another account, an expired one, and one it cannot open", async () => {
    const h = await passwordResetHandlers(resetConfig(), {}, log);
    const other = await h["password.change"]({ username: "bob", jwe: await jwe({ u: "alice", p: "Amber-lantern-93-moss" }) });
    expect(other).toMatchObject({ changed: false, reason: "undecryptable" });
    const expired = await h["password.change"]({
      username: "bob",
      jwe: await jwe({ u: "bob", p: "Amber-lantern-93-moss", exp: Math.floor(Date.now() / 1000) - 1 }),
    });
    expect(expired).toMatchObject({ changed: false, reason: "undecryptable", message: expect.stringMatching(/too long/) });
    const garbage = await h["password.change"]({ username: "bob", jwe: "eyJhbGciOiJkaXIifQ..a.b.c" });
    expect(garbage).toMatchObject({ changed: false, reason: "undecryptable" });
    expect(await canBind("bob", ORIGINAL)).toBe(true);
  });

  it("answers not_found for a user the search does not find, directory_unavailable when it cannot bind", async () => {
    const h = await passwordResetHandlers(resetConfig(), {}, log);
    const missing = await h["password.change"]({ username: "carol", jwe: await jwe({ u: "carol", p: "Amber-lantern-93-moss" }) });
    expect(missing).toMatchObject({ changed: false, reason: "not_found" });
    const broken = await passwordResetHandlers(
      resetConfig({ serviceAccount: { bindDn: slapd.serviceDn, bindPassword: "wrong" } }),
      {},
      log,
    );
    const down = await broken["password.change"]({ username: "bob", jwe: await jwe({ u: "bob", p: "Amber-lantern-93-moss" }) });
    expect(down).toMatchObject({ changed: false, reason: "directory_unavailable" });
  });

  it("never logs a password", () => {
    const all = lines.join("\n");
    expect(all).toContain("password_changed");
    for (const p of ["Violet-kettle-47-orbits", "Cobalt-fig-42", ORIGINAL, "Password12345", "Amber-lantern", SERVICE_PASSWORD]) {
      expect(all).not.toContain(p);
    }
  });
});

describe("user.lookup against slapd", () => {
  it("finds the user's mobile (E.164, spacing removed) and display name; an unknown user is not found", async () => {
    const h = await passwordResetHandlers(resetConfig(), {}, log);
    // With the account's name (uid, from the filter): the edge's name for whose reset this is.
    expect(await h["user.lookup"]({ username: "ALICE" })).toEqual({
      found: true,
      username: "alice",
      msisdn: "+46701112233",
      displayName: "Alice Andersson",
    });
    expect(await h["user.lookup"]({ username: "carol" })).toEqual({ found: false });
    // A mobile that is not E.164 is not handed to the edge.
    expect(await h["user.lookup"]({ username: "bob" })).toEqual({ found: true, username: "bob" });
    // Filter metacharacters are escaped: "*" is not a wildcard.
    expect(await h["user.lookup"]({ username: "*" })).toEqual({ found: false });
  });

  it("the relay's users map wins for the number, as for logins; a user the directory does not know stays unknown", async () => {
    const users = { alice: { msisdn: "+46709998877" }, carol: { msisdn: "+46709998866" } };
    const h = await passwordResetHandlers(resetConfig(), users, log);
    expect(await h["user.lookup"]({ username: "alice" })).toEqual({
      found: true,
      username: "alice",
      msisdn: "+46709998877",
      displayName: "Alice Andersson",
    });
    expect(await h["user.lookup"]({ username: "carol" })).toEqual({ found: false });
  });
});

describe("user.lookup: the account's name, also when the search matched another attribute", () => {
  it("a filter on uid or mail found by mail answers the uid (usernameAttribute); without it, no name", async () => {
    const userSearch = { baseDn: slapd.baseDn, filter: "(|(uid={user})(mail={user}))" };
    const named = await passwordResetHandlers(resetConfig({ userSearch, usernameAttribute: "uid" }), {}, log);
    expect(await named["user.lookup"]({ username: "Alice@Example.com" })).toMatchObject({ found: true, username: "alice" });
    const unnamed = await passwordResetHandlers(resetConfig({ userSearch }), {}, log);
    const found = await unnamed["user.lookup"]({ username: "alice@example.com" });
    expect(found).toMatchObject({ found: true, displayName: "Alice Andersson" });
    expect(found).not.toHaveProperty("username");
  });
});

describe("passwordReset config", () => {
  it("refuses Active Directory over plain ldap://, naming the field", () => {
    const r = PasswordResetSchema.safeParse({ ...resetConfig(), directory: "ad" });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('"url"');
    expect(PasswordResetSchema.safeParse({ ...resetConfig(), directory: "ad", startTls: true }).success).toBe(true);
  });

  it("fails at start-up on an unreadable key file, naming the field", async () => {
    await expect(passwordResetHandlers(resetConfig({ encryptionKeyFile: "/nonexistent/enc.pem" }), {}, log)).rejects.toThrow(
      /passwordReset.encryptionKeyFile/,
    );
  });
});
