import { describe, expect, it } from "vitest";
import {
  HOUR_MS,
  LATENCY_EDGES,
  type Histogram,
  chartData,
  histogramPercentile,
  hourWindow,
  latencyBucket,
  latencyBucketSql,
  seriesOf,
  windowStats,
} from "../../../core/auth-stats";

/** The dashboard's pure math (core/auth-stats.ts): hour windows, series, histogram percentiles. */

const histogramOf = (values: number[]): Histogram => {
  const h: Histogram = new Map();
  for (const v of values) h.set(latencyBucket(v), (h.get(latencyBucket(v)) ?? 0) + 1);
  return h;
};
const exact = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.max(1, Math.ceil((p / 100) * values.length)) - 1] ?? 0;

describe("latency buckets", () => {
  it("edges grow by at most 25% from 10 ms to 300 s", () => {
    expect(LATENCY_EDGES[0]).toBe(10);
    expect(LATENCY_EDGES.at(-1)).toBe(300_000);
    for (let i = 1; i < LATENCY_EDGES.length; i++) {
      const [lo, hi] = [LATENCY_EDGES[i - 1] ?? 0, LATENCY_EDGES[i] ?? 0];
      expect(hi).toBeGreaterThan(lo);
      expect(hi / lo).toBeLessThanOrEqual(1.25 + 1 / lo);
    }
  });

  it("a value falls in the first bucket whose edge holds it; above the last: the overflow bucket", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(10)).toBe(0);
    expect(latencyBucket(11)).toBe(1);
    expect(latencyBucket(300_000)).toBe(LATENCY_EDGES.length - 1);
    expect(latencyBucket(300_001)).toBe(LATENCY_EDGES.length);
  });

  it("the SQL expression has one WHEN per edge, in order, and takes only a column name", () => {
    const sql = latencyBucketSql("latency_ms");
    expect(sql.match(/WHEN/g)).toHaveLength(LATENCY_EDGES.length);
    expect(sql).toContain("WHEN latency_ms <= 10 THEN 0 WHEN latency_ms <= 13 THEN 1");
    expect(sql.endsWith(`ELSE ${LATENCY_EDGES.length} END`)).toBe(true);
    expect(() => latencyBucketSql("latency_ms); DROP TABLE x; --")).toThrow(/not a column name/);
  });
});

describe("histogram percentiles", () => {
  it("empty: null", () => {
    expect(histogramPercentile(new Map(), 50)).toBeNull();
  });

  it("stay within one bucket (25%) of the exact nearest-rank percentile", () => {
    const sets = [
      Array.from({ length: 100 }, (_, i) => (i + 1) * 10),
      Array.from({ length: 1000 }, (_, i) => 200 + ((i * 7919) % 5000)),
      [...Array.from({ length: 95 }, () => 300), ...Array.from({ length: 5 }, () => 60_000)],
      [42],
    ];
    for (const values of sets) {
      const h = histogramOf(values);
      for (const p of [50, 95, 99]) {
        const want = exact(values, p);
        const got = histogramPercentile(h, p) ?? Number.NaN;
        expect(got, `p${p} of ${values.length} values`).toBeGreaterThanOrEqual(want / 1.25 - 1);
        expect(got, `p${p} of ${values.length} values`).toBeLessThanOrEqual(want * 1.25 + 1);
      }
    }
  });

  it("a few slow calls move p99, not p50", () => {
    const h = histogramOf([...Array.from({ length: 98 }, () => 400), 90_000, 90_000]);
    expect(histogramPercentile(h, 50)).toBeLessThanOrEqual(400);
    expect(histogramPercentile(h, 99)).toBeGreaterThan(70_000);
  });

  it("overflow values read as the last edge", () => {
    expect(histogramPercentile(histogramOf([999_999]), 50)).toBe(300_000);
  });
});

describe("windows and series", () => {
  it("a window ends with the hour holding now; hours oldest first", () => {
    const now = Date.UTC(2031, 4, 6, 14, 25);
    const w = hourWindow(now, 24);
    expect(w.until).toBe(Date.UTC(2031, 4, 6, 15));
    expect(w.from).toBe(Date.UTC(2031, 4, 5, 15));
    expect(w.starts).toHaveLength(24);
    expect(w.starts[23]).toBe(Date.UTC(2031, 4, 6, 14));
  });

  it("maps result codes to series; unknown and Assisted Login codes are other", () => {
    expect(seriesOf("TOUCH_ACCEPTED")).toBe("accepted");
    expect(seriesOf("TOUCH_REJECTED")).toBe("rejected");
    expect(seriesOf("USER_NOT_RESPONDED")).toBe("notResponded");
    expect(seriesOf("FAILED_DELIVERY")).toBe("failedDelivery");
    expect(seriesOf("BAD_REQUEST")).toBe("badRequest");
    expect(seriesOf("NO_APPROVER_SELECTED")).toBe("other");
    expect(seriesOf("constructor")).toBe("other");
    expect(seriesOf(null)).toBe("other");
  });

  it("fills every hour (empty ones as zeros), sums totals, ignores rows outside the window", () => {
    const now = Date.UTC(2031, 4, 6, 14, 25);
    const h = (at: number) => Math.floor(at / HOUR_MS);
    const thisHour = h(now);
    const stats = windowStats(
      now,
      24,
      [
        { hour: thisHour, result: "TOUCH_ACCEPTED", n: 3 },
        { hour: thisHour, result: "BAD_REQUEST", n: 7 },
        { hour: thisHour - 5, result: "TOUCH_REJECTED", n: 2 },
        { hour: thisHour - 24, result: "TOUCH_ACCEPTED", n: 100 }, // outside
        { hour: thisHour + 1, result: "TOUCH_ACCEPTED", n: 100 }, // outside
      ],
      [
        { hour: thisHour, bucket: latencyBucket(500), n: 3 },
        { hour: thisHour - 5, bucket: latencyBucket(2000), n: 2 },
        { hour: thisHour - 30, bucket: latencyBucket(100_000), n: 50 }, // outside
      ],
    );
    expect(stats.hours).toHaveLength(24);
    expect(stats.totals).toEqual({ accepted: 3, rejected: 2, notResponded: 0, failedDelivery: 0, badRequest: 7, other: 0 });
    expect(stats.hours[23]?.counts.accepted).toBe(3);
    expect(stats.hours[18]?.counts.rejected).toBe(2);
    expect(stats.hours[0]?.counts).toEqual({ accepted: 0, rejected: 0, notResponded: 0, failedDelivery: 0, badRequest: 0, other: 0 });
    expect(stats.hours[0]?.latency).toEqual({ 50: null, 95: null, 99: null });
    // Within the bucket of the exact value (500 ms and 2000 ms).
    expect(stats.latency[50]).toBeGreaterThan(400);
    expect(stats.latency[50]).toBeLessThanOrEqual(625);
    expect(stats.latency[99]).toBeGreaterThan(1600);
    expect(stats.latency[99]).toBeLessThanOrEqual(2500);

    const chart = chartData(stats, false);
    expect(chart.labels).toHaveLength(24);
    expect(chart.labels.at(-1)).toBe("14:00");
    expect(chart.counts.badRequest.at(-1)).toBe(7);
    expect(chart.latency.p50[0]).toBeNull();
    expect(chartData(stats, true).labels.at(-1)).toBe("05-06 14:00");
  });
});
