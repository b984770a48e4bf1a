import type { DatabaseSync } from "node:sqlite";
import { TokenInputError } from "./token-record.ts";

/**
 * The local token store's schema, versioned by SQLite's `user_version`: migration i brings
 * the database from version i to i + 1. Append only; never edit a released step.
 */
const MIGRATIONS: readonly string[] = [
  // 1: one token per user. The seed is sealed (iv, ct); last_step is the last accepted time
  // step (a code of it or an earlier one is refused: replay); failures and locked_until are
  // the growing lockout (core/offline-lockout.ts).
  `CREATE TABLE tokens (
     username     TEXT PRIMARY KEY,
     iv           TEXT NOT NULL,
     ct           TEXT NOT NULL,
     digits       INTEGER NOT NULL,
     period       INTEGER NOT NULL,
     algorithm    TEXT NOT NULL,
     origin       TEXT NOT NULL,
     serial       TEXT,
     created_at   INTEGER NOT NULL,
     last_step    INTEGER,
     last_used_at INTEGER,
     failures     INTEGER NOT NULL DEFAULT 0,
     locked_until INTEGER NOT NULL DEFAULT 0
   ) STRICT`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION, each step in its own transaction. */
export function migrate(db: DatabaseSync, file: string): void {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number } | undefined;
  const version = row?.user_version ?? 0;
  if (version > SCHEMA_VERSION) {
    throw new TokenInputError(
      `token database ${file} has schema version ${version}, newer than this relay knows (${SCHEMA_VERSION}); upgrade the relay`,
    );
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[v] ?? "");
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }
}
