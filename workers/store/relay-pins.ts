import type { PinState } from "../../core/number-pin";
import { adminAuditStatement } from "./audit";

/**
 * D1 repository of pinned numbers (migrations/0002_relay_pins.sql). Every write that
 * changes a pin carries its audit row in the same batch (one transaction, one round trip).
 * Audit rows store masked numbers only; the pins table holds the full ones (the operator
 * compares them with what the user says).
 */
export interface PinRow extends PinState {
  endpoint: string;
  username: string;
  pinned_at: number;
  notified_at: number | null;
}

export interface PinAudit {
  actor: string;
  action: string;
  msisdnMasked: string;
  detail: Record<string, unknown>;
}

/** The audit row, written only when the statement just before it changed a row (same rules as every admin row). */
function audit(db: D1Database, endpoint: string, a: PinAudit, now: number): D1PreparedStatement {
  const row = { actor: a.actor, action: a.action, endpoint, msisdn: a.msisdnMasked, detail: a.detail };
  return adminAuditStatement(db, row, { ifChanged: true, at: now });
}

const SELECT = "SELECT * FROM relay_pins WHERE endpoint = ? AND username = ?";

/**
 * The pin for (endpoint, username), created with `msisdn` if there is none yet. One
 * transaction: two relays racing on a first login both read the one pin that won.
 */
export async function pinOrGet(
  db: D1Database,
  endpoint: string,
  username: string,
  msisdn: string,
  now: number,
  a: PinAudit,
): Promise<PinRow> {
  const [, , read] = await db.batch([
    db
      .prepare(
        "INSERT INTO relay_pins (endpoint, username, msisdn, pinned_at) VALUES (?, ?, ?, ?) ON CONFLICT (endpoint, username) DO NOTHING",
      )
      .bind(endpoint, username, msisdn, now),
    audit(db, endpoint, a, now),
    db.prepare(SELECT).bind(endpoint, username),
  ]);
  return (read!.results as PinRow[])[0]!;
}

/**
 * Records `msisdn` as the pending number (its first-seen time kept while it stays the same;
 * audited when it changes) and claims the SMS notice slot. Returns the pinned number when a
 * notice is due now, else null.
 */
export async function recordPendingChange(
  db: D1Database,
  endpoint: string,
  username: string,
  msisdn: string,
  now: number,
  noticeIntervalMs: number,
  a: PinAudit,
): Promise<string | null> {
  const [, , notice] = await db.batch([
    db
      .prepare("UPDATE relay_pins SET pending_msisdn = ?, pending_at = ? WHERE endpoint = ? AND username = ? AND pending_msisdn IS NOT ?")
      .bind(msisdn, now, endpoint, username, msisdn),
    audit(db, endpoint, a, now),
    db
      .prepare(
        "UPDATE relay_pins SET notified_at = ? WHERE endpoint = ? AND username = ? AND (notified_at IS NULL OR notified_at <= ?) RETURNING msisdn",
      )
      .bind(now, endpoint, username, now - noticeIntervalMs),
  ]);
  return (notice!.results as Array<{ msisdn: string }>)[0]?.msisdn ?? null;
}

/**
 * Makes the pending number the pinned one. `expected`: only if the pending number is this one
 * (so an operator never confirms a number that replaced the one they checked), and `maxPendingAt`:
 * only if it has been pending since at least then. Returns the new pin, or null.
 */
export async function applyPending(
  db: D1Database,
  endpoint: string,
  username: string,
  opts: { expected?: string; maxPendingAt?: number },
  now: number,
  a: PinAudit,
): Promise<PinRow | null> {
  const [upd] = await db.batch([
    db
      .prepare(
        "UPDATE relay_pins SET msisdn = pending_msisdn, pinned_at = ?, pending_msisdn = NULL, pending_at = NULL, notified_at = NULL " +
          "WHERE endpoint = ? AND username = ? AND pending_msisdn IS NOT NULL AND (? IS NULL OR pending_msisdn = ?) AND (? IS NULL OR pending_at <= ?) RETURNING *",
      )
      .bind(now, endpoint, username, opts.expected ?? null, opts.expected ?? null, opts.maxPendingAt ?? null, opts.maxPendingAt ?? null),
    audit(db, endpoint, a, now),
  ]);
  return (upd!.results as PinRow[])[0] ?? null;
}

export async function cancelPending(db: D1Database, endpoint: string, username: string, now: number, a: PinAudit): Promise<boolean> {
  const [upd] = await db.batch([
    db
      .prepare(
        "UPDATE relay_pins SET pending_msisdn = NULL, pending_at = NULL WHERE endpoint = ? AND username = ? AND pending_msisdn IS NOT NULL",
      )
      .bind(endpoint, username),
    audit(db, endpoint, a, now),
  ]);
  return upd!.meta.changes === 1;
}

export async function removePin(db: D1Database, endpoint: string, username: string, now: number, a: PinAudit): Promise<boolean> {
  const [del] = await db.batch([
    db.prepare("DELETE FROM relay_pins WHERE endpoint = ? AND username = ?").bind(endpoint, username),
    audit(db, endpoint, a, now),
  ]);
  return del!.meta.changes === 1;
}

export async function getPin(db: D1Database, endpoint: string, username: string): Promise<PinRow | null> {
  return db.prepare(SELECT).bind(endpoint, username).first<PinRow>();
}

export async function listPins(db: D1Database, q: { endpoint?: string; pendingOnly: boolean; limit: number }): Promise<PinRow[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.endpoint) {
    where.push("endpoint = ?");
    args.push(q.endpoint);
  }
  if (q.pendingOnly) where.push("pending_msisdn IS NOT NULL");
  const sql = `SELECT * FROM relay_pins ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY endpoint, username LIMIT ?`;
  return (
    await db
      .prepare(sql)
      .bind(...args, q.limit)
      .all<PinRow>()
  ).results;
}

/**
 * The pins that hold `msisdn` as the pinned or the pending number (the console's subscriber
 * page). No index on the numbers: an operator's lookup, not a hot path.
 */
export async function listPinsForNumber(db: D1Database, msisdn: string, limit: number): Promise<PinRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM relay_pins WHERE msisdn = ? OR pending_msisdn = ? ORDER BY endpoint, username LIMIT ?")
    .bind(msisdn, msisdn, limit)
    .all<PinRow>();
  return results;
}
