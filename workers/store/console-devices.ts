/**
 * D1 repository of admin console device cookies (migrations/0006). Rows are keyed by the
 * SHA-256 of the device id; the id itself lives only in the operator's browser.
 */
export interface ConsoleDeviceRow {
  id_sha256: string;
  operator: string;
  /** The admin token's fingerprint at sign-in (console-session.ts credentialFingerprint). */
  credential: string;
  created_at: number;
  /** Wrong sign-ins with this device since its last good one. */
  failures: number;
}

export async function insertConsoleDevice(db: D1Database, row: ConsoleDeviceRow): Promise<void> {
  await db
    .prepare("INSERT INTO console_devices (id_sha256, operator, credential, created_at, failures) VALUES (?, ?, ?, ?, ?)")
    .bind(row.id_sha256, row.operator, row.credential, row.created_at, row.failures)
    .run();
}

export async function getConsoleDevice(db: D1Database, idSha256: string): Promise<ConsoleDeviceRow | null> {
  return db
    .prepare("SELECT id_sha256, operator, credential, created_at, failures FROM console_devices WHERE id_sha256 = ?")
    .bind(idSha256)
    .first<ConsoleDeviceRow>();
}

/** Counts one wrong sign-in; the new count, or null when the row is gone. */
export async function addConsoleDeviceFailure(db: D1Database, idSha256: string): Promise<number | null> {
  const row = await db
    .prepare("UPDATE console_devices SET failures = failures + 1 WHERE id_sha256 = ? RETURNING failures")
    .bind(idSha256)
    .first<{ failures: number }>();
  return row?.failures ?? null;
}

export async function deleteConsoleDevice(db: D1Database, idSha256: string): Promise<void> {
  await db.prepare("DELETE FROM console_devices WHERE id_sha256 = ?").bind(idSha256).run();
}

/** Removes every device created before `createdBefore` (run at each sign-in, so the table stays small). */
export async function purgeConsoleDevices(db: D1Database, createdBefore: number): Promise<void> {
  await db.prepare("DELETE FROM console_devices WHERE created_at < ?").bind(createdBefore).run();
}
