import { AUTH_ROWS_PER_STATEMENT, type AuthAudit, type TimedAuthAudit, auditAuthRowsStatement, auditAuthStatement } from "./audit";

/**
 * Audit rows of calls that end within AUDIT_FLUSH_DELAY_MS of each other in one isolate go to
 * D1 together: multi-row INSERTs (AUTH_ROWS_PER_STATEMENT rows each) in one batch, so D1 runs
 * one statement per 14 rows instead of one per row (under load, each costs CPU that the next
 * calls wait for). Every caller gets the promise of the flush that holds its own row and hands
 * it to its waitUntil, so a row is lost only where its own request's waitUntil would have lost
 * it; the wait is far inside waitUntil's time. One failing row cannot take the others with it:
 * a failed batch (a transaction) is retried row by row, and only a row that fails alone rejects.
 */
export const AUDIT_FLUSH_DELAY_MS = 100;
/** A batch this full is flushed at once rather than at the end of its delay. */
export const AUDIT_MAX_BATCH = 10 * AUTH_ROWS_PER_STATEMENT;

type Outcome = { ok: true } | { ok: false; error: unknown };
interface Pending {
  rows: TimedAuthAudit[];
  flush: () => void;
  flushed: Promise<Outcome[]>;
}
// Per binding object: rows are only ever batched into the database they were meant for.
const pending = new WeakMap<D1Database, Pending>();

export function queueAuditAuth(db: D1Database, e: AuthAudit, at = Date.now()): Promise<void> {
  let batch = pending.get(db);
  if (!batch) batch = openBatch(db);
  const index = batch.rows.push({ e, at }) - 1;
  if (batch.rows.length >= AUDIT_MAX_BATCH) batch.flush();
  return batch.flushed.then((outcomes) => {
    const outcome = outcomes[index];
    if (outcome && !outcome.ok) throw outcome.error;
  });
}

function openBatch(db: D1Database): Pending {
  const rows: TimedAuthAudit[] = [];
  let start: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    start = resolve;
  });
  const timer = setTimeout(start, AUDIT_FLUSH_DELAY_MS);
  const flushed = started.then(() => {
    clearTimeout(timer);
    if (pending.get(db) === batch) pending.delete(db); // rows queued from now on start the next batch
    return flush(db, rows);
  });
  const batch: Pending = {
    rows,
    flush: () => {
      pending.delete(db);
      start();
    },
    flushed,
  };
  pending.set(db, batch);
  return batch;
}

async function flush(db: D1Database, rows: TimedAuthAudit[]): Promise<Outcome[]> {
  try {
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += AUTH_ROWS_PER_STATEMENT) {
      statements.push(auditAuthRowsStatement(db, rows.slice(i, i + AUTH_ROWS_PER_STATEMENT)));
    }
    const [first] = statements;
    if (statements.length === 1 && first) await first.run();
    else await db.batch(statements);
    return rows.map(() => ({ ok: true }));
  } catch (e) {
    if (rows.length === 1) return [{ ok: false, error: e }];
    // below: each row on its own
  }
  const settled = await Promise.allSettled(rows.map(({ e, at }) => auditAuthStatement(db, e, at).run()));
  return settled.map((s) => (s.status === "fulfilled" ? { ok: true } : { ok: false, error: s.reason }));
}
