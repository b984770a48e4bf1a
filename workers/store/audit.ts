import { ENDPOINT_NAME } from "../config/schema";
import type { BadRequestReason } from "../../core/codes";
import { cap, redact } from "../../core/redact";

/**
 * The audit log in D1: one row per authenticated call and per admin action, and one counter
 * row per hour, endpoint and reason for unauthenticated failures. MSISDNs arrive masked;
 * texts, keys and codes never reach this table: every field is validated or capped, and
 * the detail JSON goes through the same redaction as log lines.
 */
export interface AuthAudit {
  endpoint: string;
  msisdn: string;
  channel: string;
  result: string;
  latencyMs: number;
  detail?: Record<string, unknown>;
}

export interface AdminAudit {
  actor: string;
  action: string;
  endpoint?: string;
  msisdn?: string;
  detail?: Record<string, unknown>;
}

/** A refused call before (or without) a valid key: counted, never stored one row each. */
export interface AuthFailure {
  /** Only a configured endpoint's name; an unknown one is attacker-chosen and not stored. */
  endpoint: string | null;
  reason: BadRequestReason;
  msisdn: string | null;
  latencyMs: number;
}

const MAX_FIELD = 64;
const MAX_DETAIL = 2000;

/** Endpoint names are stored only when they are valid names; anything else becomes NULL. */
export const storedEndpoint = (name: string | null | undefined): string | null => (name && ENDPOINT_NAME.test(name) ? name : null);

const field = (v: string | null | undefined): string | null => (v == null ? null : cap(redact(v), MAX_FIELD));

/** Detail as stored: redacted JSON, at most MAX_DETAIL characters (else a marker with its head). */
export function storedDetail(detail: Record<string, unknown> | undefined): string | null {
  if (!detail || Object.keys(detail).length === 0) return null;
  // Details are structured fields this code chose; the named token rules still apply.
  const json = redact(JSON.stringify(detail), { anyLongToken: false });
  return json.length <= MAX_DETAIL ? json : JSON.stringify({ truncated: json.length, head: json.slice(0, MAX_DETAIL - 100) });
}

/** The counter row's key: one per UTC hour, endpoint and reason. */
export function failureBucket(f: Pick<AuthFailure, "endpoint" | "reason">, at: number): string {
  return `auth-fail|${new Date(at).toISOString().slice(0, 13)}|${storedEndpoint(f.endpoint) ?? ""}|${field(f.reason)}`;
}

export async function auditAuth(db: D1Database, e: AuthAudit, at = Date.now()): Promise<void> {
  await db
    .prepare("INSERT INTO audit_log (at, kind, endpoint, msisdn, channel, result, latency_ms, detail) VALUES (?, 'auth', ?, ?, ?, ?, ?, ?)")
    .bind(at, storedEndpoint(e.endpoint), field(e.msisdn), field(e.channel), field(e.result), e.latencyMs, storedDetail(e.detail))
    .run();
}

/**
 * Counts an unauthenticated failure in its hour's row (created by the first failure, whose
 * masked number and latency it keeps). Rows grow with hours x endpoints x reasons, never
 * with the number of requests.
 */
export async function countAuthFailure(db: D1Database, f: AuthFailure, at = Date.now()): Promise<void> {
  await db
    .prepare(
      `INSERT INTO audit_log (at, kind, endpoint, msisdn, channel, result, latency_ms, detail, count, bucket)
       VALUES (?, 'auth', ?, ?, 'none', 'BAD_REQUEST', ?, ?, 1, ?)
       ON CONFLICT (bucket) DO UPDATE SET count = count + 1`,
    )
    .bind(at, storedEndpoint(f.endpoint), field(f.msisdn), f.latencyMs, storedDetail({ reason: f.reason }), failureBucket(f, at))
    .run();
}

/**
 * The admin action's audit row, to run in the same D1 batch as the change it records.
 * `ifChanged`: written only when the statement just before it in the batch changed a row
 * (SQLite's changes()), so a refused change leaves no row and a recorded change cannot
 * happen without its row.
 */
export function adminAuditStatement(db: D1Database, e: AdminAudit, opts: { ifChanged?: boolean; at?: number } = {}): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_log (at, kind, endpoint, msisdn, actor, action, detail)
       SELECT ?, 'admin', ?, ?, ?, ?, ?${opts.ifChanged ? " WHERE changes() > 0" : ""}`,
    )
    .bind(opts.at ?? Date.now(), storedEndpoint(e.endpoint), field(e.msisdn), field(e.actor), field(e.action), storedDetail(e.detail));
}

/** An admin action that is not a D1 write (a Durable Object call): recorded right after it. */
export async function auditAdmin(db: D1Database, e: AdminAudit, at = Date.now()): Promise<void> {
  await adminAuditStatement(db, e, { at }).run();
}

export interface AuditQuery {
  kind?: "auth" | "admin";
  endpoint?: string;
  since?: number;
  until?: number;
  /** Page backwards from this id (exclusive): the `next` of the previous page. */
  before?: number;
  limit: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  kind: string;
  endpoint: string | null;
  msisdn: string | null;
  channel: string | null;
  result: string | null;
  latency_ms: number | null;
  actor: string | null;
  action: string | null;
  detail: unknown;
  /** Counter rows of unauthenticated failures: how many calls the row stands for. */
  count: number | null;
}

/** Newest first, keyset-paginated by id. */
export async function queryAudit(db: D1Database, q: AuditQuery): Promise<{ entries: AuditEntry[]; next: number | null }> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.kind) {
    where.push("kind = ?");
    args.push(q.kind);
  }
  if (q.endpoint) {
    where.push("endpoint = ?");
    args.push(q.endpoint);
  }
  if (q.since !== undefined) {
    where.push("at >= ?");
    args.push(q.since);
  }
  if (q.until !== undefined) {
    where.push("at < ?");
    args.push(q.until);
  }
  if (q.before !== undefined) {
    where.push("id < ?");
    args.push(q.before);
  }
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...args, q.limit + 1)
    .all<Record<string, unknown>>();
  const page = results
    .slice(0, q.limit)
    .map(({ bucket: _bucket, ...r }) => ({ ...r, detail: r.detail ? JSON.parse(r.detail as string) : null }) as AuditEntry);
  return { entries: page, next: results.length > q.limit ? page.at(-1)!.id : null };
}

/** Deletes entries older than the retention; returns how many went. */
export async function purgeAudit(db: D1Database, retentionDays: number, now = Date.now()): Promise<number> {
  const r = await db
    .prepare("DELETE FROM audit_log WHERE at < ?")
    .bind(now - retentionDays * 86_400_000)
    .run();
  return r.meta.changes;
}
