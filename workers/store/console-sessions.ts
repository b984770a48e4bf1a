/**
 * D1 repository of admin console sessions (migrations/0004). Rows are keyed by the SHA-256
 * of the session id; the id itself lives only in the operator's cookie.
 */
export interface ConsoleSessionRow {
  id_sha256: string;
  operator: string;
  created_at: number;
  last_seen_at: number;
  /** The admin token's fingerprint (password sign-in); null behind Cloudflare Access. */
  credential: string | null;
}

export async function insertConsoleSession(db: D1Database, row: ConsoleSessionRow): Promise<void> {
  await db
    .prepare("INSERT INTO console_sessions (id_sha256, operator, created_at, last_seen_at, credential) VALUES (?, ?, ?, ?, ?)")
    .bind(row.id_sha256, row.operator, row.created_at, row.last_seen_at, row.credential)
    .run();
}

export async function getConsoleSession(db: D1Database, idSha256: string): Promise<ConsoleSessionRow | null> {
  return db
    .prepare("SELECT id_sha256, operator, created_at, last_seen_at, credential FROM console_sessions WHERE id_sha256 = ?")
    .bind(idSha256)
    .first<ConsoleSessionRow>();
}

export async function touchConsoleSession(db: D1Database, idSha256: string, now: number): Promise<void> {
  await db.prepare("UPDATE console_sessions SET last_seen_at = ? WHERE id_sha256 = ?").bind(now, idSha256).run();
}

export async function deleteConsoleSession(db: D1Database, idSha256: string): Promise<void> {
  await db.prepare("DELETE FROM console_sessions WHERE id_sha256 = ?").bind(idSha256).run();
}

/** Removes every session past its idle or absolute limit (run at each sign-in, so the table stays small). */
export async function purgeConsoleSessions(db: D1Database, idleBefore: number, createdBefore: number): Promise<void> {
  await db.prepare("DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ?").bind(idleBefore, createdBefore).run();
}
