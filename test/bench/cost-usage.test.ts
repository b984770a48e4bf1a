import { describe, expect, it } from "vitest";
import { CLOUDFLARE_PRICES, type PriceList } from "../../core/cost/prices.ts";
import {
  ActiveClock,
  type Usage,
  atWait,
  billedObjectRequests,
  costPerMillion,
  emptyObjectUsage,
  emptyUsage,
  type LogSettings,
  logEvents,
  logSettingsOf,
  objectTotals,
  perAuthentication,
} from "../../core/cost/usage.ts";
import { addUsage, deployLogSettings } from "../../bench/cost.ts";

/** The metering math behind `npm run bench -- cost` (core/cost/usage.ts). */
const usage = (over: Partial<Usage> = {}): Usage => ({ ...emptyUsage(), ...over });

describe("active time (billed duration)", () => {
  it("counts wall time with at least one request in flight, overlapping requests once", () => {
    let now = 1000;
    const clock = new ActiveClock(() => now);
    clock.enter(); // request A at 1000
    now = 1100;
    clock.enter(); // request B overlaps
    now = 1300;
    clock.leave(); // A ends
    expect(clock.activeMs()).toBe(300); // still active: B in flight
    now = 1400;
    clock.leave(); // B ends: 400 ms active, not 300 + 300
    now = 5000; // idle: not billed
    expect(clock.activeMs()).toBe(400);
    clock.enter();
    now = 5050;
    clock.leave();
    expect(clock.activeMs()).toBe(450);
  });

  it("refuses a leave without an enter (a counting bug, not a negative duration)", () => {
    expect(() => new ActiveClock(() => 0).leave()).toThrow(/without enter/);
  });
});

describe("per authentication and at an assumed wait", () => {
  const run = usage({
    workerRequests: 30,
    d1RowsWritten: 50,
    objects: { AUTH_SESSION: { ...emptyObjectUsage(), requests: 40, rowsWritten: 70, activeMs: 500 } },
  });

  it("divides every meter by the number of authentications", () => {
    const per = perAuthentication(run, 10);
    expect(per.workerRequests).toBe(3);
    expect(per.d1RowsWritten).toBe(5);
    expect(per.objects.AUTH_SESSION).toMatchObject({ requests: 4, rowsWritten: 7, activeMs: 50 });
    expect(() => perAuthentication(run, 0)).toThrow(/positive/);
  });

  it("extrapolates active time linearly in the wait, per class; counts stay as measured", () => {
    const instant = usage({ objects: { A: { ...emptyObjectUsage(), activeMs: 40 }, B: { ...emptyObjectUsage(), activeMs: 5 } } });
    const held = usage({
      workerRequests: 3,
      objects: { A: { ...emptyObjectUsage(), requests: 4, activeMs: 2040 }, B: { ...emptyObjectUsage(), activeMs: 5 } },
    });
    const at20 = atWait(instant, held, 2000, 20_000);
    expect(at20.objects.A).toMatchObject({ requests: 4, activeMs: 20_040 }); // held busy by the wait
    expect(at20.objects.B?.activeMs).toBe(5); // not held: flat
    expect(at20.workerRequests).toBe(3);
  });

  it("adds the purge to a run class by class", () => {
    const a = usage({ workerRequests: 3, objects: { A: { ...emptyObjectUsage(), requests: 4 } } });
    const b = usage({ objects: { A: { ...emptyObjectUsage(), alarms: 1, rowsWritten: 2 }, B: { ...emptyObjectUsage(), requests: 1 } } });
    const sum = addUsage(a, b);
    expect(sum.objects.A).toMatchObject({ requests: 4, alarms: 1, rowsWritten: 2 });
    expect(sum.objects.B?.requests).toBe(1);
    expect(objectTotals(sum)).toMatchObject({ requests: 5, alarms: 1, rowsWritten: 2 });
  });
});

describe("cost per million authentications", () => {
  it("bills incoming WebSocket messages 20:1 with calls and alarms", () => {
    expect(billedObjectRequests({ ...emptyObjectUsage(), requests: 3, alarms: 1, webSocketMessagesIn: 40 }, CLOUDFLARE_PRICES)).toBe(6);
  });

  it("prices each meter at its rate: requests, CPU, GB-s at 128 MB, rows, log events", () => {
    const prices: PriceList = { ...CLOUDFLARE_PRICES };
    const perAuth = usage({
      workerRequests: 3,
      d1RowsRead: 2,
      d1RowsWritten: 5,
      objects: {
        A: { ...emptyObjectUsage(), requests: 7, alarms: 1, rowsRead: 10, rowsWritten: 18, activeMs: 20_000 },
      },
    });
    const c = costPerMillion(perAuth, prices, { cpuMsPerWorkerRequest: 2, logs: { enabled: true, invocationLogs: true, sampling: 1 } });
    expect(c.workerRequests).toBeCloseTo(0.9); // 3 M requests x $0.30
    expect(c.workerCpu).toBeCloseTo(0.12); // 6 M CPU ms x $0.02
    expect(c.objectRequests).toBeCloseTo(1.2); // 8 M x $0.15
    expect(c.objectDuration).toBeCloseTo(31.25); // 20 s x 0.125 GB = 2.5 GB-s x 1 M x $12.50 / M
    expect(c.objectRowsRead).toBeCloseTo(0.01);
    expect(c.objectRowsWritten).toBeCloseTo(18);
    expect(c.d1RowsRead).toBeCloseTo(0.002);
    expect(c.d1RowsWritten).toBeCloseTo(5);
    expect(c.logEvents).toBeCloseTo(6.6); // 3 + 7 + 1 invocation logs, no console line: 11 M x $0.60
    expect(c.total).toBeCloseTo(0.9 + 0.12 + 1.2 + 31.25 + 0.01 + 18 + 0.002 + 5 + 6.6);
  });
});

describe("Workers Logs events", () => {
  const run = usage({
    workerRequests: 3,
    logLines: 2,
    objects: {
      SUBSCRIBER: { ...emptyObjectUsage(), requests: 3, alarms: 1, webSocketMessagesIn: 2 },
      LOAD_SHARD: { ...emptyObjectUsage(), requests: 2 },
    },
  });
  const all: LogSettings = { enabled: true, invocationLogs: true, sampling: 1 };

  it("with invocation logs: one per Worker request and per object call, alarm and incoming WebSocket message, plus each console line", () => {
    expect(logEvents(run, all)).toBe(3 + 3 + 1 + 2 + 2 + 2);
    expect(logEvents(emptyUsage(), all)).toBe(0);
  });

  it("without them only the console lines; sampled requests scale both; none when Workers Logs is off", () => {
    expect(logEvents(run, { ...all, invocationLogs: false })).toBe(2);
    expect(logEvents(run, { ...all, sampling: 0.1 })).toBeCloseTo(1.3, 10);
    expect(logEvents(run, { ...all, enabled: false })).toBe(0);
  });

  it("are priced per million events, and divided and added like the other meters", () => {
    const prices: PriceList = { ...CLOUDFLARE_PRICES, logEventsPerMillion: 0.6 };
    const cost = costPerMillion(run, prices, { cpuMsPerWorkerRequest: 0, logs: all });
    expect(cost.logEvents).toBeCloseTo(13 * 0.6, 10);
    const withoutLogs = costPerMillion(run, { ...prices, logEventsPerMillion: 0 }, { cpuMsPerWorkerRequest: 0, logs: all });
    expect(cost.total - withoutLogs.total).toBeCloseTo(13 * 0.6, 10);
    expect(perAuthentication(run, 2).logLines).toBe(1);
    expect(addUsage(run, run).logLines).toBe(4);
  });

  it("read from wrangler's observability settings with wrangler's defaults", () => {
    expect(logSettingsOf(undefined)).toEqual({ enabled: false, invocationLogs: true, sampling: 1 });
    expect(logSettingsOf({ enabled: true })).toEqual({ enabled: true, invocationLogs: true, sampling: 1 });
    expect(logSettingsOf({ enabled: true, head_sampling_rate: 0.5, logs: { invocation_logs: false } })).toEqual({
      enabled: true,
      invocationLogs: false,
      sampling: 0.5,
    });
    expect(logSettingsOf({ enabled: true, logs: { enabled: false } }).enabled).toBe(false);
    expect(logSettingsOf({ logs: { enabled: true, head_sampling_rate: 0.25 } })).toEqual({
      enabled: true,
      invocationLogs: true,
      sampling: 0.25,
    });
  });

  it("as this deploy's wrangler.toml has them, read by wrangler: console lines only, every request", () => {
    expect(deployLogSettings()).toEqual({ enabled: true, invocationLogs: false, sampling: 1 });
  });
});
