import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AUDIT_MAX_BATCH, queueAuditAuth } from "../../workers/store/audit-batch";
import { AUTH_ROWS_PER_STATEMENT } from "../../workers/store/audit";

/** Issue 16: audit rows of calls that end together go to D1 in one batch, and none is lost. */

const tag = () => `ab-${crypto.randomUUID().slice(0, 8)}`;
const row = (msisdn: string, result = "TOUCH_ACCEPTED") => ({ endpoint: "default", msisdn, channel: "sms", result, latencyMs: 7 });
const stored = async (prefix: string) =>
  (
    await env.DB.prepare("SELECT msisdn, result, latency_ms FROM audit_log WHERE msisdn LIKE ? ORDER BY msisdn")
      .bind(`${prefix}%`)
      .all<{ msisdn: string; result: string; latency_ms: number }>()
  ).results;

describe("audit rows in batches", () => {
  it("writes every row queued together, once each, by the time each caller's promise settles", async () => {
    const t = tag();
    await Promise.all(Array.from({ length: 12 }, (_, i) => queueAuditAuth(env.DB, row(`${t}-${String(i).padStart(2, "0")}`))));
    const rows = await stored(t);
    expect(rows.map((r) => r.msisdn)).toEqual(Array.from({ length: 12 }, (_, i) => `${t}-${String(i).padStart(2, "0")}`));
    expect(rows.every((r) => r.result === "TOUCH_ACCEPTED" && r.latency_ms === 7)).toBe(true);
  });

  it("more rows than one INSERT takes, and more than a batch holds: every row written once, with its own values", async () => {
    for (const n of [AUTH_ROWS_PER_STATEMENT + 1, 3 * AUTH_ROWS_PER_STATEMENT + 2, AUDIT_MAX_BATCH + 3]) {
      const t = tag();
      const names = Array.from({ length: n }, (_, i) => `${t}-${String(i).padStart(3, "0")}`);
      await Promise.all(names.map((m, i) => queueAuditAuth(env.DB, { ...row(m), latencyMs: i })));
      const rows = await stored(t);
      expect(rows.map((r) => r.msisdn)).toEqual(names);
      expect(rows.map((r) => r.latency_ms)).toEqual(names.map((_, i) => i));
    }
  });

  it("a row queued after a flush goes into the next batch", async () => {
    const t = tag();
    await queueAuditAuth(env.DB, row(`${t}-a`));
    await queueAuditAuth(env.DB, row(`${t}-b`));
    expect((await stored(t)).map((r) => r.msisdn)).toEqual([`${t}-a`, `${t}-b`]);
  });

  it("a row D1 refuses fails alone: its caller's promise rejects, the rows batched with it are written", async () => {
    const t = tag();
    // Refuses exactly one row (a stand-in for any per-row failure inside the batch's transaction).
    await env.DB.prepare(
      `CREATE TRIGGER IF NOT EXISTS audit_batch_refuse BEFORE INSERT ON audit_log WHEN NEW.result = 'REFUSE_ME' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    ).run();
    try {
      const outcomes = await Promise.allSettled([
        queueAuditAuth(env.DB, row(`${t}-1`)),
        queueAuditAuth(env.DB, row(`${t}-2`, "REFUSE_ME")),
        queueAuditAuth(env.DB, row(`${t}-3`)),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect((await stored(t)).map((r) => r.msisdn)).toEqual([`${t}-1`, `${t}-3`]);
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS audit_batch_refuse").run();
    }
  });
});
