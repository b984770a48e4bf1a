import { chmodSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "otplib";
import { describe, expect, it } from "vitest";
import { OFFLINE_LOCKOUT } from "../../../core/offline-lockout.ts";
import { checkTotp, DEFAULT_TOTP, totpCode, type TotpParams } from "../../../core/otp.ts";
import { mayCheck, stepAccepted, verdictOf } from "../../../relay/src/local-totp/acceptance.ts";
import { createKeyFile, readKeyFile } from "../../../relay/src/local-totp/key-file.ts";
import { SCHEMA_VERSION } from "../../../relay/src/local-totp/migrations.ts";
import { TokenInputError, type NewToken } from "../../../relay/src/local-totp/token-record.ts";
import { TokenStore } from "../../../relay/src/local-totp/token-store.ts";
import { LocalTotpVerifier } from "../../../relay/src/local-totp/verifier.ts";

/** The local token store: sealing bound to the user, single-use steps and lockout that survive a re-open. */
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const ascii = (s: string) => Uint8Array.from(Buffer.from(s));
const SEED = Uint8Array.from({ length: 20 }, (_, i) => i + 1);

function fresh(): { db: string; key: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "local-totp-"));
  const keyFile = join(dir, "tokens.key");
  createKeyFile(keyFile);
  return { db: join(dir, "tokens.db"), key: readKeyFile(keyFile), keyFile };
}
const token = (username: string, params: TotpParams = DEFAULT_TOTP, seed = SEED): NewToken => ({
  username,
  seed,
  params,
  origin: "enrolled",
});
const codeAt = (ms: number, params: TotpParams = DEFAULT_TOTP, seed = SEED) =>
  generate({ secret: seed, epoch: Math.floor(ms / 1000), ...params });

describe("step acceptance and lockout (pure)", () => {
  it("accepts only a step after the last accepted one", () => {
    expect(stepAccepted(null, 5)).toBe(true);
    expect(stepAccepted(5, 6)).toBe(true);
    expect(stepAccepted(5, 5)).toBe(false);
    expect(stepAccepted(5, 4)).toBe(false);
  });

  it("a valid code of a used step is a replay; an invalid one a wrong code; a locked token is not checked", () => {
    const state = { lastStep: 10, lockout: { failures: 0, lockedUntil: 0 } };
    expect(verdictOf(state, { valid: true, timeStep: 11 })).toBe("accept");
    expect(verdictOf(state, { valid: true, timeStep: 10 })).toBe("replay");
    expect(verdictOf(state, { valid: false })).toBe("reject");
    expect(mayCheck({ ...state, lockout: { failures: 5, lockedUntil: 1000 } }, 999)).toBe(false);
    expect(mayCheck({ ...state, lockout: { failures: 5, lockedUntil: 1000 } }, 1000)).toBe(true);
  });
});

describe("key file", () => {
  it("is created mode 0600, never over an existing file, and refused when others may read it", () => {
    const { keyFile } = fresh();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(() => createKeyFile(keyFile)).toThrow(/refusing to overwrite/);
    const loose = join(mkdtempSync(join(tmpdir(), "local-totp-")), "k");
    writeFileSync(loose, readKeyFile(keyFile), { mode: 0o644 });
    expect(() => readKeyFile(loose)).toThrow(/readable by group or others/);
    const short = join(mkdtempSync(join(tmpdir(), "local-totp-")), "k");
    writeFileSync(short, "c2hvcnQ", { mode: 0o600 });
    expect(() => readKeyFile(short)).toThrow(/32-byte/);
  });
});

describe("token store", () => {
  it("creates an owner-only database at the current schema version", () => {
    const { db, key } = fresh();
    new TokenStore(db, key).close();
    expect(statSync(db).mode & 0o777).toBe(0o600);
    const raw = new DatabaseSync(db);
    expect(raw.prepare("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new TokenStore(db, key)).toThrow(/newer than this relay knows/);
  });

  it("refuses a database others may write (they could clear lockouts and used steps)", () => {
    const { db, key } = fresh();
    new TokenStore(db, key).close();
    chmodSync(db, 0o664);
    expect(() => new TokenStore(db, key)).toThrow(/writable by group or others/);
  });

  it("checks codes with a token's own digits, period and hash (RFC 6238 appendix B vectors)", async () => {
    const seeds = { sha1: "12345678901234567890", sha256: "12345678901234567890123456789012", sha512: `${"1234567890".repeat(6)}1234` };
    const vectors = [
      [59, "sha1", "94287082"],
      [59, "sha256", "46119246"],
      [59, "sha512", "90693936"],
      [1111111109, "sha256", "68084774"],
      [20000000000, "sha512", "47863826"],
    ] as const;
    for (const [seconds, algorithm, code] of vectors) {
      const params: TotpParams = { digits: 8, period: 30, algorithm };
      expect(await totpCode(ascii(seeds[algorithm]), seconds * 1000, params)).toBe(code);
      expect(await checkTotp(ascii(seeds[algorithm]), code, seconds * 1000, undefined, params)).toMatchObject({ valid: true });
      // Under the default parameters (6 digits, SHA-1) the same code is refused.
      expect(await checkTotp(ascii(seeds[algorithm]), code, seconds * 1000)).toEqual({ valid: false });
    }
  });

  it("stores the seed sealed: not in the file, and opened only with the key, for its user", async () => {
    const { db, key } = fresh();
    const store = new TokenStore(db, key);
    await store.add(
      [
        token("alice"),
        token(
          "mallory",
          DEFAULT_TOTP,
          SEED.map((b) => b ^ 0xff),
        ),
      ],
      T0,
    );
    const alice = store.get("alice");
    expect(alice).toBeDefined();
    if (!alice) return;
    expect(await store.seedOf(alice)).toEqual(SEED);
    store.close();

    const raw = new DatabaseSync(db);
    const bytes = raw.prepare("SELECT * FROM tokens").all();
    expect(JSON.stringify(bytes)).not.toContain(Buffer.from(SEED).toString("base64url"));
    // Mallory copies alice's sealed row onto his own name: it does not open there.
    raw.exec("UPDATE tokens SET (iv, ct) = (SELECT iv, ct FROM tokens WHERE username = 'alice') WHERE username = 'mallory'");
    // Nor does alice's with its parameters changed (8 digits).
    raw.exec("UPDATE tokens SET digits = 8 WHERE username = 'alice'");
    raw.close();

    const reopened = new TokenStore(db, key);
    const mallory = reopened.get("mallory");
    const changed = reopened.get("alice");
    if (!mallory || !changed) throw new Error("rows missing");
    await expect(reopened.seedOf(mallory)).rejects.toThrow();
    await expect(reopened.seedOf(changed)).rejects.toThrow();
    // And another key file opens nothing.
    const other = new TokenStore(db, fresh().key);
    await expect(other.seedOf(mallory)).rejects.toThrow();
    reopened.close();
    other.close();
  });

  it("adds all or nothing, one token per user", async () => {
    const { db, key } = fresh();
    const store = new TokenStore(db, key);
    await store.add([token("alice")], T0);
    await expect(store.add([token("bob"), token("alice")], T0)).rejects.toThrow(TokenInputError);
    expect(store.has("bob")).toBe(false);
    expect(store.list().map((t) => t.username)).toEqual(["alice"]);
    expect(store.remove("alice")).toBe(true);
    expect(store.remove("alice")).toBe(false);
    store.close();
  });
});

describe("verification against the store", () => {
  it("accepts a code once per time step, also after a restart", async () => {
    const { db, key } = fresh();
    const store = new TokenStore(db, key);
    await store.add([token("alice")], T0);
    const code = await codeAt(T0);
    expect((await new LocalTotpVerifier(store).verify("alice", code, () => T0)).verdict).toBe("accept");
    store.close();

    // A restarted relay: the same code (same step), and the previous step's code, are refused.
    const again = new TokenStore(db, key);
    const v = new LocalTotpVerifier(again);
    expect((await v.verify("alice", code, () => T0 + 5_000)).verdict).toBe("replay");
    expect((await v.verify("alice", await codeAt(T0 - 30_000), () => T0 + 5_000)).verdict).toBe("replay");
    // The next step's code is fine, one step of drift either side.
    expect((await v.verify("alice", await codeAt(T0 + 30_000), () => T0 + 5_000)).verdict).toBe("accept");
    expect((await v.verify("alice", await codeAt(T0 + 120_000), () => T0 + 5_000)).verdict).toBe("reject");
    again.close();
  });

  it("accepts one code sent twice at once only once", async () => {
    const { db, key } = fresh();
    const store = new TokenStore(db, key);
    await store.add([token("alice")], T0);
    const v = new LocalTotpVerifier(store);
    const code = await codeAt(T0);
    const verdicts = await Promise.all([1, 2, 3].map(() => v.verify("alice", code, () => T0)));
    expect(verdicts.map((r) => r.verdict).sort()).toEqual(["accept", "replay", "replay"]);
    store.close();
  });

  it("locks after wrong codes, longer each time, remembered across a restart; a locked token is not checked", async () => {
    const { db, key } = fresh();
    const store = new TokenStore(db, key);
    await store.add([token("alice")], T0);
    const v = new LocalTotpVerifier(store);
    const wrong = (await codeAt(T0)) === "000000" ? "111111" : "000000";
    for (let i = 1; i < OFFLINE_LOCKOUT.lockAfter; i++) expect(await v.verify("alice", wrong, () => T0)).toEqual({ verdict: "reject" });
    const first = await v.verify("alice", wrong, () => T0);
    expect(first).toEqual({ verdict: "reject", lockedUntil: T0 + OFFLINE_LOCKOUT.firstLockMs });
    // While locked even the right code is refused, and not counted.
    expect((await v.verify("alice", await codeAt(T0 + 1000), () => T0 + 1000)).verdict).toBe("locked");
    store.close();

    const again = new TokenStore(db, key);
    const v2 = new LocalTotpVerifier(again);
    expect((await v2.verify("alice", await codeAt(T0 + 2000), () => T0 + 2000)).verdict).toBe("locked");
    const after = T0 + OFFLINE_LOCKOUT.firstLockMs;
    const second = await v2.verify("alice", wrong, () => after);
    expect(second).toEqual({ verdict: "reject", lockedUntil: after + 2 * OFFLINE_LOCKOUT.firstLockMs });
    expect(again.list()[0]?.failures).toBe(OFFLINE_LOCKOUT.lockAfter + 1);
    // A right code after the lock resets it.
    const later = after + 2 * OFFLINE_LOCKOUT.firstLockMs;
    expect((await v2.verify("alice", await codeAt(later), () => later)).verdict).toBe("accept");
    expect(again.list()[0]).toMatchObject({ failures: 0, lockedUntil: 0 });
    again.close();
  });

  it("checks a hardware token's own parameters (8 digits, 60 s, SHA-256)", async () => {
    const { db, key } = fresh();
    const params: TotpParams = { digits: 8, period: 60, algorithm: "sha256" };
    const seed = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);
    const store = new TokenStore(db, key);
    await store.add([token("hw", params, seed)], T0);
    const v = new LocalTotpVerifier(store);
    expect((await v.verify("hw", await codeAt(T0, DEFAULT_TOTP, seed), () => T0)).verdict).toBe("reject");
    expect((await v.verify("hw", await codeAt(T0, params, seed), () => T0)).verdict).toBe("accept");
    store.close();
  });

  it("a user without a token gets no-token", async () => {
    const { db, key } = fresh();
    const store = new TokenStore(db, key);
    expect((await new LocalTotpVerifier(store).verify("nobody", "123456", () => T0)).verdict).toBe("no-token");
    store.close();
  });
});
