import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
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
  it("writes every row queued together, once each, by the time the promises of the calls that queued them settle", async () => {
    const t = tag();
    await Promise.all(Array.from({ length: 12 }, (_, i) => queueAuditAuth(env.DB, row(`${t}-${String(i).padStart(2, "0")}`))));
    const rows = await stored(t);
    expect(rows.map((r) => r.msisdn)).toEqual(Array.from({ length: 12 }, (_, i) => `${t}-${String(i).padStart(2, "0")}`));
    expect(rows.every((r) => r.result === "TOUCH_ACCEPTED" && r.latency_ms === 7)).toBe(true);
  });

  it("only the call that opened a batch waits for it: a call that joins it is done at once, its row written with the batch", async () => {
    const t = tag();
    const opener = queueAuditAuth(env.DB, row(`${t}-1`));
    let joinerDone = false;
    const joiner = queueAuditAuth(env.DB, row(`${t}-2`)).then(() => {
      joinerDone = true;
    });
    await joiner;
    // The joiner settled before the batch was sent: it waits on no other call's promise.
    expect(await stored(t)).toEqual([]);
    expect(joinerDone).toBe(true);
    await opener;
    expect((await stored(t)).map((r) => r.msisdn)).toEqual([`${t}-1`, `${t}-2`]);
  });

  it("the call whose row fills a batch sends it at once, without waiting for the opener's delay", async () => {
    const t = tag();
    const names = Array.from({ length: AUDIT_MAX_BATCH }, (_, i) => `${t}-${String(i).padStart(3, "0")}`);
    const calls = names.map((m) => queueAuditAuth(env.DB, row(m)));
    // Had the filling call only handed its row over, it would settle at once, with nothing
    // written yet: the opener's timer is still AUDIT_FLUSH_DELAY_MS away.
    await calls[calls.length - 1];
    expect((await stored(t)).map((r) => r.msisdn)).toEqual(names);
    await Promise.all(calls);
    expect((await stored(t)).length).toBe(AUDIT_MAX_BATCH);
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

  it("a row D1 refuses fails alone: it is logged with its fields, the rows batched with it are written, no promise rejects", async () => {
    const t = tag();
    // Refuses exactly one row (a stand-in for any per-row failure inside the batch's transaction).
    await env.DB.prepare(
      `CREATE TRIGGER IF NOT EXISTS audit_batch_refuse BEFORE INSERT ON audit_log WHEN NEW.result = 'REFUSE_ME' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    ).run();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const outcomes = await Promise.allSettled([
        queueAuditAuth(env.DB, row(`${t}-1`)),
        queueAuditAuth(env.DB, row(`${t}-2`, "REFUSE_ME")),
        queueAuditAuth(env.DB, row(`${t}-3`)),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
      expect((await stored(t)).map((r) => r.msisdn)).toEqual([`${t}-1`, `${t}-3`]);
      const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
      expect(logged).toEqual([
        expect.objectContaining({ event: "audit_write_failed", msisdn: `${t}-2`, result: "REFUSE_ME", endpoint: "default" }),
      ]);
    } finally {
      errors.mockRestore();
      await env.DB.prepare("DROP TRIGGER IF EXISTS audit_batch_refuse").run();
    }
  });
});
