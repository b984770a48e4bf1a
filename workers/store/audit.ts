/**
 * The audit log in D1: one row per authentication and per admin action. MSISDNs arrive
 * masked; texts, keys and codes never reach this table.
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

export async function auditAuth(db: D1Database, e: AuthAudit, at = Date.now()): Promise<void> {
  await db
    .prepare("INSERT INTO audit_log (at, kind, endpoint, msisdn, channel, result, latency_ms, detail) VALUES (?, 'auth', ?, ?, ?, ?, ?, ?)")
    .bind(at, e.endpoint, e.msisdn, e.channel, e.result, e.latencyMs, e.detail ? JSON.stringify(e.detail) : null)
    .run();
}

export async function auditAdmin(db: D1Database, e: AdminAudit, at = Date.now()): Promise<void> {
  await db
    .prepare("INSERT INTO audit_log (at, kind, endpoint, msisdn, actor, action, detail) VALUES (?, 'admin', ?, ?, ?, ?, ?)")
    .bind(at, e.endpoint ?? null, e.msisdn ?? null, e.actor, e.action, e.detail ? JSON.stringify(e.detail) : null)
    .run();
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
}

/** Newest first, keyset-paginated by id. */
export async function queryAudit(db: D1Database, q: AuditQuery): Promise<{ entries: AuditEntry[]; next: number | null }> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.kind) where.push("kind = ?"), args.push(q.kind);
  if (q.endpoint) where.push("endpoint = ?"), args.push(q.endpoint);
  if (q.since !== undefined) where.push("at >= ?"), args.push(q.since);
  if (q.until !== undefined) where.push("at < ?"), args.push(q.until);
  if (q.before !== undefined) where.push("id < ?"), args.push(q.before);
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
  const { results } = await db.prepare(sql).bind(...args, q.limit + 1).all<Record<string, unknown>>();
  const page = results.slice(0, q.limit).map((r) => ({ ...r, detail: r.detail ? JSON.parse(r.detail as string) : null }) as AuditEntry);
  return { entries: page, next: results.length > q.limit ? page.at(-1)!.id : null };
}

/** Deletes entries older than the retention; returns how many went. */
export async function purgeAudit(db: D1Database, retentionDays: number, now = Date.now()): Promise<number> {
  const r = await db.prepare("DELETE FROM audit_log WHERE at < ?").bind(now - retentionDays * 86_400_000).run();
  return r.meta.changes;
}
