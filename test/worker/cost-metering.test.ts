import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../workers/index";
import {
  countConsoleLines,
  instrumentStorage,
  metered,
  meteredEnv,
  meteredStub,
  resetUsage,
  usageSnapshot,
} from "../../workers/lib/metering";

/**
 * The cost bench's meters (workers/lib/metering.ts): off unless COST_METERING is "on", read
 * only from loopback, and counting what Cloudflare bills, from the real runtime APIs.
 */
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const on = { ...env, COST_METERING: "on" } as Env;

describe("cost metering", () => {
  it("is off by default: no meter endpoint, nothing counted", async () => {
    const res = await exports.default.fetch(new Request("http://127.0.0.1/__cost/usage"));
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("workerRequests");
  });

  it("serves the meters to loopback only, and counts Worker requests", async () => {
    expect((await worker.fetch(new Request("https://mfa.example.com/__cost/usage"), on, ctx)).status).toBe(404);
    expect((await worker.fetch(new Request("https://mfa.example.com/__cost/reset", { method: "POST" }), on, ctx)).status).toBe(404);
    expect((await worker.fetch(new Request("http://127.0.0.1/__cost/reset", { method: "POST" }), on, ctx)).status).toBe(204);
    await worker.fetch(new Request("http://127.0.0.1/healthz"), on, ctx);
    await worker.fetch(new Request("http://127.0.0.1/healthz"), on, ctx);
    const usage = (await (await worker.fetch(new Request("http://127.0.0.1/__cost/usage"), on, ctx)).json()) as { workerRequests: number };
    expect(usage.workerRequests).toBe(2);
  });

  it("counts SQLite storage rows as billed: KV get/list read, put/delete/setAlarm/deleteAll write, SQL cursors", async () => {
    const stub = env.RESET_SESSION.getByName(`cost-${crypto.randomUUID()}`);
    const counted = await runInDurableObject(stub, async (_instance, state) => {
      resetUsage();
      instrumentStorage(state.storage, "RESET_SESSION");
      const s = state.storage;
      await s.put("a", 1); // 1 written
      await s.put({ b: 2, c: 3 }); // 2 written
      await s.get("a"); // 1 read
      await s.get(["a", "b"]); // 2 read
      expect((await s.list()).size).toBe(3); // 3 read
      await s.delete("a"); // 1 written
      await s.setAlarm(Date.now() + 60_000); // 1 written
      s.kv.put("k", 1); // 1 written
      expect(s.kv.get("k")).toBe(1); // 1 read
      await s.deleteAll(); // b, c, k and the alarm: 4 written
      const afterKv = structuredClone(usageSnapshot().objects.RESET_SESSION);
      s.sql.exec("CREATE TABLE probe (x INTEGER)");
      s.sql.exec("INSERT INTO probe VALUES (1), (2)");
      expect(s.sql.exec("SELECT x FROM probe").toArray()).toHaveLength(2);
      return { afterKv, withSql: usageSnapshot().objects.RESET_SESSION };
    });
    expect(counted.afterKv).toMatchObject({ rowsRead: 7, rowsWritten: 10 });
    expect(counted.withSql?.rowsWritten).toBeGreaterThanOrEqual(12); // the INSERT's two rows
    expect(counted.withSql?.rowsRead).toBeGreaterThanOrEqual(9); // the SELECT's two rows
  });

  it("leaves out miniflare's own bookkeeping statements, which Cloudflare does not run or bill", async () => {
    const stub = env.RESET_SESSION.getByName(`cost-${crypto.randomUUID()}`);
    const counted = await runInDurableObject(stub, async (_instance, state) => {
      resetUsage();
      instrumentStorage(state.storage, "RESET_SESSION");
      const s = state.storage;
      // What miniflare's Durable Object wrapper runs when an object starts on wrangler dev.
      s.sql.exec("CREATE TABLE IF NOT EXISTS __miniflare_do_name (id INTEGER PRIMARY KEY, name TEXT)");
      s.sql.exec("INSERT OR REPLACE INTO __miniflare_do_name (id, name) VALUES (1, ?)", "probe");
      const bookkeeping = structuredClone(usageSnapshot().objects.RESET_SESSION ?? { rowsWritten: 0 });
      s.sql.exec("CREATE TABLE own (x INTEGER)");
      s.sql.exec("INSERT INTO own VALUES (1)");
      return { bookkeeping, own: usageSnapshot().objects.RESET_SESSION };
    });
    expect(counted.bookkeeping.rowsWritten).toBe(0);
    expect(counted.own?.rowsWritten).toBeGreaterThanOrEqual(1);
  });

  it("counts D1 rows from result meta, first() and batch() included, with the same results", async () => {
    const db = meteredEnv(on).DB;
    await env.DB.exec("CREATE TABLE IF NOT EXISTS cost_probe (x INTEGER)");
    resetUsage();
    await db.prepare("INSERT INTO cost_probe VALUES (?1)").bind(1).run();
    await db.batch([db.prepare("INSERT INTO cost_probe VALUES (?1)").bind(2), db.prepare("INSERT INTO cost_probe VALUES (3)")]);
    expect(usageSnapshot().d1RowsWritten).toBe(3);
    expect(await db.prepare("SELECT x FROM cost_probe WHERE x = ?1").bind(2).first()).toEqual({ x: 2 });
    expect(await db.prepare("SELECT x FROM cost_probe WHERE x = ?1").bind(3).first("x")).toBe(3);
    expect(await db.prepare("SELECT x FROM cost_probe WHERE x = 99").first()).toBeNull();
    expect(usageSnapshot().d1RowsRead).toBeGreaterThanOrEqual(3); // a scan of 3 rows, three times
  });

  it("counts each call on a metered stub as one Durable Object request, results unchanged", async () => {
    resetUsage();
    const name = `cost-${crypto.randomUUID()}`;
    const stub = meteredStub(env.AUTH_SESSION.getByName(name), "AUTH_SESSION");
    expect(await stub.view()).toEqual({ kind: "not_found" });
    expect(await stub.wait()).toBeNull();
    expect(usageSnapshot().objects.AUTH_SESSION?.requests).toBe(2);
  });

  it("clocks an object's active time with overlapping calls once, and counts alarms, only when on", async () => {
    class Probe {
      constructor(
        readonly ctx: unknown,
        readonly env: unknown,
      ) {}
      async busy(ms: number) {
        await new Promise((r) => setTimeout(r, ms));
        return ms;
      }
      async alarm() {}
    }
    const Metered = metered("DEV_OUTBOX", Probe as unknown as new (ctx: DurableObjectState, env: Env) => Probe);
    resetUsage();
    const off = new Metered({ storage: {} } as DurableObjectState, env);
    await off.alarm();
    expect(usageSnapshot().objects.DEV_OUTBOX).toBeUndefined();
    const probe = new Metered({ storage: {} } as DurableObjectState, on);
    expect(await Promise.all([probe.busy(100), probe.busy(100)])).toEqual([100, 100]);
    await probe.alarm();
    const meters = usageSnapshot().objects.DEV_OUTBOX;
    expect(meters?.alarms).toBe(1);
    expect(meters?.activeMs).toBeGreaterThanOrEqual(100);
    expect(meters?.activeMs).toBeLessThan(190); // two overlapping 100 ms calls: ~100 ms, not 200
  });

  it("counts every console line the Worker writes on a metered request (Workers Logs bills each), once however often it is turned on", async () => {
    countConsoleLines(); // again below, through the metered request: still one count per line
    const spies = (["log", "info", "debug", "warn", "error"] as const).map((name) => vi.spyOn(console, name));
    try {
      resetUsage();
      const res = await worker.fetch(
        new Request("http://127.0.0.1/api/sfwa/auth?msisdn=not-a-number", { headers: { "api-key": "wrong" } }),
        on,
        ctx,
      );
      expect(await res.json()).toEqual({ code: "BAD_REQUEST" });
      const written = spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
      expect(written).toBeGreaterThan(0); // the refusal's log line
      expect(usageSnapshot().logLines).toBe(written);
      console.warn("one more line");
      expect(usageSnapshot().logLines).toBe(written + 1);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
