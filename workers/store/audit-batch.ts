import { log } from "../lib/log";
import { AUTH_ROWS_PER_STATEMENT, type AuthAudit, type TimedAuthAudit, auditAuthRowsStatement, auditAuthStatement } from "./audit";

/**
 * Audit rows of calls that end within AUDIT_FLUSH_DELAY_MS of each other in one isolate go to
 * D1 together: multi-row INSERTs (AUTH_ROWS_PER_STATEMENT rows each) in one batch, so D1 runs
 * one statement per 14 rows instead of one per row (under load, each costs CPU that the next
 * calls wait for).
 *
 * No request waits on another's promise (Workers runs a continuation in the request that made
 * it, and drops it when that request has ended): the call that opens a batch keeps its timer
 * and sends the batch when it fires, in its own context; its promise (for its waitUntil)
 * settles once the batch is written. A call that joins an open batch hands its row over and
 * its promise settles at once; the call whose row fills the batch takes it and sends it itself.
 * So a row is lost only with the request that sends it (its waitUntil cut short), which waits a
 * tenth of a second at most. One failing row cannot take the others with it: a failed batch
 * (a transaction) is retried row by row, and each row that fails alone is logged
 * (`audit_write_failed`, with the row's event fields) by the call that sent it.
 */
export const AUDIT_FLUSH_DELAY_MS = 100;
/** A batch this full is sent at once rather than at the end of its delay. */
export const AUDIT_MAX_BATCH = 10 * AUTH_ROWS_PER_STATEMENT;

/** An open batch; the object's identity says whether its opener's timer still owns it. */
interface Batch {
  rows: TimedAuthAudit[];
}
// Per binding object: rows are only ever batched into the database they were meant for.
const open = new WeakMap<D1Database, Batch>();

/** Queues an audit row; the promise is for the caller's waitUntil (see above for when it settles). */
export function queueAuditAuth(db: D1Database, e: AuthAudit, at = Date.now()): Promise<void> {
  const joined = open.get(db);
  if (joined) {
    joined.rows.push({ e, at });
    if (joined.rows.length < AUDIT_MAX_BATCH) return Promise.resolve();
    open.delete(db); // full: this call sends it; rows queued from now on start the next batch
    return send(db, joined.rows);
  }
  const batch: Batch = { rows: [{ e, at }] };
  open.set(db, batch);
  return new Promise((resolve) => setTimeout(resolve, AUDIT_FLUSH_DELAY_MS)).then(() => {
    if (open.get(db) !== batch) return; // a call that filled it sent it
    open.delete(db);
    return send(db, batch.rows);
  });
}

/** Writes the rows and logs each one D1 refused; never rejects. */
async function send(db: D1Database, rows: TimedAuthAudit[]): Promise<void> {
  const failures = await write(db, rows);
  for (const { row, error } of failures) {
    const { detail: _, ...fields } = row.e;
    log.error("audit_write_failed", { ...fields, at: row.at, error: String(error) });
  }
}

/** The rows written in one batch, or, when it fails, one by one: the rows that still failed. */
async function write(db: D1Database, rows: TimedAuthAudit[]): Promise<Array<{ row: TimedAuthAudit; error: unknown }>> {
  try {
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += AUTH_ROWS_PER_STATEMENT) {
      statements.push(auditAuthRowsStatement(db, rows.slice(i, i + AUTH_ROWS_PER_STATEMENT)));
    }
    const [first] = statements;
    if (statements.length === 1 && first) await first.run();
    else await db.batch(statements);
    return [];
  } catch (e) {
    const [only] = rows;
    if (rows.length === 1 && only) return [{ row: only, error: e }];
    // below: each row on its own
  }
  const settled = await Promise.allSettled(rows.map(({ e, at }) => auditAuthStatement(db, e, at).run()));
  return settled.flatMap((s, i) => {
    const row = rows[i];
    return s.status === "rejected" && row ? [{ row, error: s.reason }] : [];
  });
}
