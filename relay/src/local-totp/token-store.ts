import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { recordFailure, type FailureOutcome, type LockoutState } from "../../../core/offline-lockout.ts";
import type { TotpParams } from "../../../core/otp.ts";
import { openSeed, sealSeed } from "../../../core/seed-crypto.ts";
import { migrate } from "./migrations.ts";
import { sealContext, TokenInputError, tokenParams, type NewToken } from "./token-record.ts";

/**
 * The relay's local TOTP tokens (SQLite through Node's built-in node:sqlite): one token per
 * user, its seed sealed with AES-256-GCM under the key file and bound to the user, its last
 * accepted time step and its lockout state, so both survive restarts.
 */
export interface TokenSummary {
  username: string;
  params: TotpParams;
  origin: string;
  serial: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  failures: number;
  lockedUntil: number;
}

export interface StoredToken {
  username: string;
  params: TotpParams;
  lastStep: number | null;
  lockout: LockoutState;
  sealed: { iv: string; ct: string };
}

interface Row {
  username: string;
  iv: string;
  ct: string;
  digits: number;
  period: number;
  algorithm: string;
  origin: string;
  serial: string | null;
  created_at: number;
  last_step: number | null;
  last_used_at: number | null;
  failures: number;
  locked_until: number;
}

export class TokenStore {
  readonly #db: DatabaseSync;
  readonly #key: string;
  readonly #file: string;

  /** `key`: the key file's content (readKeyFile). Creates the database (mode 0600) if needed. */
  constructor(file: string, key: string) {
    this.#file = file;
    this.#key = key;
    // Created by us, owner-only: node:sqlite would create it with the umask's mode.
    if (!existsSync(file)) closeSync(openSync(file, "a", 0o600));
    // Whoever may write it can clear lockouts and used steps: the relay's user only.
    else if ((statSync(file).mode & 0o022) !== 0) {
      throw new TokenInputError(`token database ${file} is writable by group or others; chmod 600 it`);
    }
    try {
      this.#db = new DatabaseSync(file);
    } catch (e) {
      throw new TokenInputError(`cannot open token database ${file}: ${(e as Error).message}`);
    }
    // The CLI may write while the relay runs: wait for the other's lock instead of failing.
    this.#db.exec("PRAGMA busy_timeout = 5000");
    migrate(this.#db, file);
  }

  close(): void {
    this.#db.close();
  }

  /** Adds tokens, all or none; a user who already has a token is an error naming them. */
  async add(tokens: readonly NewToken[], now: number): Promise<void> {
    const sealed = await Promise.all(tokens.map((t) => sealSeed(this.#key, t.seed, sealContext(t.username, t.params))));
    const insert = this.#db.prepare(
      "INSERT INTO tokens (username, iv, ct, digits, period, algorithm, origin, serial, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#transaction(() => {
      tokens.forEach((t, i) => {
        const s = sealed[i];
        if (!s) return;
        if (this.has(t.username)) throw new TokenInputError(`user "${t.username}" already has a token; remove it first`);
        insert.run(t.username, s.iv, s.ct, t.params.digits, t.params.period, t.params.algorithm, t.origin, t.serial ?? null, now);
      });
    });
  }

  has(username: string): boolean {
    return this.#db.prepare("SELECT 1 FROM tokens WHERE username = ?").get(username) !== undefined;
  }

  get(username: string): StoredToken | undefined {
    const r = this.#db.prepare("SELECT * FROM tokens WHERE username = ?").get(username) as Row | undefined;
    if (!r) return undefined;
    return {
      username: r.username,
      params: paramsOf(r),
      lastStep: r.last_step,
      lockout: { failures: r.failures, lockedUntil: r.locked_until },
      sealed: { iv: r.iv, ct: r.ct },
    };
  }

  /** The seed; throws when the row was tampered with, moved to another user, or the key is another. */
  async seedOf(token: StoredToken): Promise<Uint8Array> {
    return openSeed(this.#key, token.sealed, sealContext(token.username, token.params));
  }

  list(): TokenSummary[] {
    const rows = this.#db.prepare("SELECT * FROM tokens ORDER BY username").all() as unknown as Row[];
    return rows.map((r) => ({
      username: r.username,
      params: paramsOf(r),
      origin: r.origin,
      serial: r.serial,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      failures: r.failures,
      lockedUntil: r.locked_until,
    }));
  }

  remove(username: string): boolean {
    return Number(this.#db.prepare("DELETE FROM tokens WHERE username = ?").run(username).changes) === 1;
  }

  /**
   * Records `step` as used, only if it is later than the last accepted one (checked and
   * written in one statement, so two logins racing with one code cannot both pass), and
   * clears the lockout. False: the step was already used.
   */
  acceptStep(username: string, step: number, now: number): boolean {
    const r = this.#db
      .prepare(
        "UPDATE tokens SET last_step = ?, last_used_at = ?, failures = 0, locked_until = 0 WHERE username = ? AND (last_step IS NULL OR last_step < ?)",
      )
      .run(step, now, username, step);
    return Number(r.changes) === 1;
  }

  /** Counts a wrong code against the stored state (read and written in one transaction). */
  recordFailure(username: string, now: number): FailureOutcome | undefined {
    return this.#transaction(() => {
      const r = this.#db.prepare("SELECT failures, locked_until FROM tokens WHERE username = ?").get(username) as
        | Pick<Row, "failures" | "locked_until">
        | undefined;
      if (!r) return undefined;
      const outcome = recordFailure({ failures: r.failures, lockedUntil: r.locked_until }, now);
      this.#db
        .prepare("UPDATE tokens SET failures = ?, locked_until = ? WHERE username = ?")
        .run(outcome.state.failures, outcome.state.lockedUntil, username);
      return outcome;
    });
  }

  /** Help desk: clears a user's lockout (their last used step stays, so no code is replayable). */
  unlock(username: string): boolean {
    return Number(this.#db.prepare("UPDATE tokens SET failures = 0, locked_until = 0 WHERE username = ?").run(username).changes) === 1;
  }

  get file(): string {
    return this.#file;
  }

  #transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }
}

function paramsOf(r: Pick<Row, "digits" | "period" | "algorithm" | "username">): TotpParams {
  // Stored values went through tokenParams() on the way in; read back through it too.
  return tokenParams({ digits: String(r.digits), period: String(r.period), algorithm: r.algorithm }, `stored token of "${r.username}"`);
}
