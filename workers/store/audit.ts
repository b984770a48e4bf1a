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

const AUTH_ROW_INSERT = "INSERT INTO audit_log (at, kind, endpoint, msisdn, channel, result, latency_ms, detail) VALUES ";
const AUTH_ROW_VALUES = "(?, 'auth', ?, ?, ?, ?, ?, ?)";
/** D1 binds at most 100 parameters per statement; an auth row takes 7. */
export const AUTH_ROWS_PER_STATEMENT = Math.floor(100 / 7);

/** An authenticated call's audit row and when it ended. */
export interface TimedAuthAudit {
  e: AuthAudit;
  at: number;
}

const authRowValues = ({ e, at }: TimedAuthAudit) =>
  [at, storedEndpoint(e.endpoint), field(e.msisdn), field(e.channel), field(e.result), e.latencyMs, storedDetail(e.detail)] as const;

/** The authenticated call's audit row, as a statement (run alone, or in a batch: store/audit-batch.ts). */
export function auditAuthStatement(db: D1Database, e: AuthAudit, at = Date.now()): D1PreparedStatement {
  return auditAuthRowsStatement(db, [{ e, at }]);
}

/**
 * Up to AUTH_ROWS_PER_STATEMENT rows in one INSERT: one statement for D1 to run instead of one
 * per row. All of them are written or none (one statement).
 */
export function auditAuthRowsStatement(db: D1Database, rows: TimedAuthAudit[]): D1PreparedStatement {
  if (rows.length === 0 || rows.length > AUTH_ROWS_PER_STATEMENT) throw new RangeError(`1-${AUTH_ROWS_PER_STATEMENT} rows per statement`);
  return db.prepare(AUTH_ROW_INSERT + rows.map(() => AUTH_ROW_VALUES).join(", ")).bind(...rows.flatMap(authRowValues));
}

export async function auditAuth(db: D1Database, e: AuthAudit, at = Date.now()): Promise<void> {
  await auditAuthStatement(db, e, at).run();
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
       ON CONFLICT (bucket) WHERE bucket IS NOT NULL DO UPDATE SET count = count + 1`,
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

/** Every kind of audit row (the table CHECKs kind IN these: migrations/0001_admin.sql). */
export const AUDIT_KINDS = ["auth", "admin"] as const;

export interface AuditQuery {
  kind?: (typeof AUDIT_KINDS)[number];
  endpoint?: string;
  /** Exact matches on the stored (capped, redacted) columns. */
  actor?: string;
  action?: string;
  result?: string;
  since?: number;
  until?: number;
  /** Page backwards from this id (exclusive): the `next` of the previous page. */
  before?: number;
  /** Page forwards (newer) from this id (exclusive): the `prev` of the page after. */
  after?: number;
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

/** Each filter: its column and comparison. Values are only ever bound, never spliced into the SQL. */
const FILTERS: Array<[keyof AuditQuery, string]> = [
  ["kind", "kind = ?"],
  ["endpoint", "endpoint = ?"],
  ["actor", "actor = ?"],
  ["action", "action = ?"],
  ["result", "result = ?"],
  ["since", "at >= ?"],
  ["until", "at < ?"],
  ["before", "id < ?"],
  ["after", "id > ?"],
];

/**
 * Newest first, keyset-paginated by id (ids only grow, so rows written meanwhile never shift a
 * page: they appear before the first one). `next`: the cursor for older entries (`before`),
 * `prev`: for newer ones (`after`); null when there are none in that direction.
 */
export async function queryAudit(
  db: D1Database,
  q: AuditQuery,
): Promise<{ entries: AuditEntry[]; next: number | null; prev: number | null }> {
  const where: string[] = [];
  const args: unknown[] = [];
  for (const [key, sql] of FILTERS) {
    const v = q[key];
    if (v === undefined || v === "") continue;
    where.push(sql);
    args.push(v);
  }
  // Paging forwards reads the oldest rows above the cursor, then shows them newest first.
  const forwards = q.after !== undefined && q.before === undefined;
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id ${forwards ? "ASC" : "DESC"} LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...args, q.limit + 1)
    .all<Record<string, unknown>>();
  const more = results.length > q.limit;
  const rows = results.slice(0, q.limit);
  if (forwards) rows.reverse();
  const page = rows.map(({ bucket: _bucket, ...r }) => ({ ...r, detail: r.detail ? JSON.parse(r.detail as string) : null }) as AuditEntry);
  const first = page[0]?.id ?? null;
  const last = page.at(-1)?.id ?? null;
  if (forwards) return { entries: page, next: last, prev: more ? first : null };
  // Backwards (or the first page): newer entries exist when we started from a cursor.
  return { entries: page, next: more ? last : null, prev: q.before !== undefined ? first : null };
}

/**
 * The retention purge's statement. Every row's kind is one of AUDIT_KINDS (the table CHECKs
 * it), so naming them selects the same rows as `at < ?` alone, and lets audit_log_kind_at find
 * them without a scan of the table: no index on `at` alone is kept for this (migrations/0009:
 * D1 bills each index entry as a row written, on every audit row).
 */
export const PURGE_AUDIT_SQL = `DELETE FROM audit_log WHERE kind IN (${AUDIT_KINDS.map(() => "?").join(", ")}) AND at < ?`;

/** Deletes entries older than the retention; returns how many went. */
export async function purgeAudit(db: D1Database, retentionDays: number, now = Date.now()): Promise<number> {
  const r = await db
    .prepare(PURGE_AUDIT_SQL)
    .bind(...AUDIT_KINDS, now - retentionDays * 86_400_000)
    .run();
  return r.meta.changes;
}
