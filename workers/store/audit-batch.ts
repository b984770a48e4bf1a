import { type AuthAudit, auditAuthStatement } from "./audit";

/**
 * Audit rows of calls that end within a few milliseconds of each other in one isolate go to
 * D1 as one batch: one round trip instead of one per row (under load, each costs the Worker
 * CPU that the next calls wait for). Every caller gets the promise of the flush that holds its
 * own row and hands it to its waitUntil, so a row is lost only where its own request's
 * waitUntil would have lost it. One failing row cannot take the others with it: a failed
 * batch (a transaction) is retried row by row, and only a row that fails alone rejects.
 */
export const AUDIT_FLUSH_DELAY_MS = 5;

type Outcome = { ok: true } | { ok: false; error: unknown };
interface Pending {
  statements: D1PreparedStatement[];
  flushed: Promise<Outcome[]>;
}
// Per binding object: rows are only ever batched into the database they were meant for.
const pending = new WeakMap<D1Database, Pending>();

export function queueAuditAuth(db: D1Database, e: AuthAudit, at = Date.now()): Promise<void> {
  let batch = pending.get(db);
  if (!batch) {
    const statements: D1PreparedStatement[] = [];
    const flushed = new Promise((r) => setTimeout(r, AUDIT_FLUSH_DELAY_MS)).then(() => {
      pending.delete(db); // rows queued from now on start the next batch
      return flush(db, statements);
    });
    batch = { statements, flushed };
    pending.set(db, batch);
  }
  const index = batch.statements.push(auditAuthStatement(db, e, at)) - 1;
  return batch.flushed.then((outcomes) => {
    const outcome = outcomes[index];
    if (outcome && !outcome.ok) throw outcome.error;
  });
}

async function flush(db: D1Database, statements: D1PreparedStatement[]): Promise<Outcome[]> {
  if (statements.length > 1) {
    try {
      await db.batch(statements);
      return statements.map(() => ({ ok: true }));
    } catch {
      // below: each row on its own
    }
  }
  const settled = await Promise.allSettled(statements.map((s) => s.run()));
  return settled.map((s) => (s.status === "fulfilled" ? { ok: true } : { ok: false, error: s.reason }));
}
