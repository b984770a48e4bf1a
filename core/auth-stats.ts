/**
 * The console dashboard's figures, from rows the audit log's SQL already aggregated: counts per
 * UTC hour and result, and latency histograms per hour. Pure: no I/O, no clock (callers pass
 * `now`), so the bucketing and percentile math is unit-tested on its own.
 */

export const HOUR_MS = 3_600_000;

/** The series the dashboard draws, in order; the codes each one counts are in seriesOf(). */
export const AUTH_SERIES = ["accepted", "rejected", "notResponded", "failedDelivery", "badRequest", "other"] as const;
export type AuthSeries = (typeof AUTH_SERIES)[number];

export const SERIES_LABELS: Record<AuthSeries, string> = {
  accepted: "Accepted",
  rejected: "Rejected",
  notResponded: "Not responded",
  failedDelivery: "Failed delivery",
  badRequest: "Bad request",
  other: "Other",
};

// A Map, not an object: a stored result such as "constructor" must not find Object's prototype.
const SERIES_OF_CODE = new Map<string, AuthSeries>([
  ["TOUCH_ACCEPTED", "accepted"],
  ["TOUCH_REJECTED", "rejected"],
  ["USER_NOT_RESPONDED", "notResponded"],
  ["FAILED_DELIVERY", "failedDelivery"],
  ["BAD_REQUEST", "badRequest"],
]);

/** The series an audited result code counts in; Assisted Login's own codes (and anything new) are "other". */
export const seriesOf = (result: string | null): AuthSeries => (result ? (SERIES_OF_CODE.get(result) ?? "other") : "other");

export const PERCENTILES = [50, 95, 99] as const;
export type Percentile = (typeof PERCENTILES)[number];

/**
 * Upper edges (ms) of the latency histogram buckets: 10 ms, then each about 25% above the one
 * before, up to the longest call (300 s); a last bucket catches anything above. A percentile
 * read from it is within one bucket (about 25%) of the exact value, and the histogram lets
 * SQL do the aggregation: a week of calls comes back as at most 168 x 50 rows.
 */
export const LATENCY_EDGES: readonly number[] = (() => {
  const edges: number[] = [];
  for (let edge = 10; ; edge = Math.ceil(edge * 1.25)) {
    edges.push(Math.min(edge, 300_000));
    if (edge >= 300_000) return edges;
  }
})();

/** The bucket index for a latency (the SQL CASE built by latencyBucketSql() computes the same). */
export function latencyBucket(ms: number): number {
  const i = LATENCY_EDGES.findIndex((edge) => ms <= edge);
  return i === -1 ? LATENCY_EDGES.length : i;
}

/** SQL expression for latencyBucket() over a column; built from constants only (no input reaches it). */
export function latencyBucketSql(column: string): string {
  if (!/^[a-z_]+$/.test(column)) throw new Error(`not a column name: ${column}`);
  const whens = LATENCY_EDGES.map((edge, i) => `WHEN ${column} <= ${edge} THEN ${i}`).join(" ");
  return `CASE ${whens} ELSE ${LATENCY_EDGES.length} END`;
}

/** Counts per bucket index (sparse). */
export type Histogram = Map<number, number>;

/**
 * The p-th percentile (nearest rank) of a histogram, interpolated linearly inside its bucket
 * (as Prometheus' histogram_quantile does); null when empty. Values above the last edge read
 * as the last edge.
 */
export function histogramPercentile(h: Histogram, p: number): number | null {
  let total = 0;
  for (const n of h.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const i of [...h.keys()].sort((a, b) => a - b)) {
    const n = h.get(i) ?? 0;
    if (seen + n >= rank) {
      if (i >= LATENCY_EDGES.length) return LATENCY_EDGES[LATENCY_EDGES.length - 1] ?? 0;
      const lower = i === 0 ? 0 : (LATENCY_EDGES[i - 1] ?? 0);
      const upper = LATENCY_EDGES[i] ?? lower;
      return Math.round(lower + ((upper - lower) * (rank - seen)) / n);
    }
    seen += n;
  }
  return null; // unreachable: rank <= total
}

/** The hourly window ending with the hour that holds `now`: `hours` hour starts, oldest first. */
export function hourWindow(now: number, hours: number): { from: number; until: number; starts: number[] } {
  const until = (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  const from = until - hours * HOUR_MS;
  return { from, until, starts: Array.from({ length: hours }, (_, i) => from + i * HOUR_MS) };
}

/** What SQL returns: per hour (index = at / HOUR_MS) and result code, the number of calls. */
export interface ResultCountRow {
  hour: number;
  result: string | null;
  n: number;
}

/** What SQL returns: per hour and latency bucket, the number of calls. */
export interface LatencyRow {
  hour: number;
  bucket: number;
  n: number;
}

export interface HourFigures {
  /** Start of the hour, ms since epoch (UTC). */
  start: number;
  counts: Record<AuthSeries, number>;
  latency: Record<Percentile, number | null>;
}

export interface WindowStats {
  hours: HourFigures[];
  totals: Record<AuthSeries, number>;
  /** Over the whole window. */
  latency: Record<Percentile, number | null>;
}

const zeroCounts = (): Record<AuthSeries, number> => Object.fromEntries(AUTH_SERIES.map((s) => [s, 0])) as Record<AuthSeries, number>;
const percentiles = (h: Histogram) =>
  Object.fromEntries(PERCENTILES.map((p) => [p, histogramPercentile(h, p)])) as Record<Percentile, number | null>;

/**
 * Every hour of the window (empty hours as zeros), counts by series and latency percentiles,
 * plus the window's totals. Rows outside the window are ignored.
 */
export function windowStats(now: number, hours: number, counts: ResultCountRow[], latencies: LatencyRow[]): WindowStats {
  const { starts } = hourWindow(now, hours);
  const index = new Map(starts.map((start, i) => [start / HOUR_MS, i]));
  const perHour = starts.map(() => ({ counts: zeroCounts(), histogram: new Map() as Histogram }));
  const totals = zeroCounts();
  const all: Histogram = new Map();
  for (const r of counts) {
    const i = index.get(r.hour);
    if (i === undefined) continue;
    const s = seriesOf(r.result);
    (perHour[i] as (typeof perHour)[number]).counts[s] += r.n;
    totals[s] += r.n;
  }
  for (const r of latencies) {
    const i = index.get(r.hour);
    if (i === undefined) continue;
    const h = (perHour[i] as (typeof perHour)[number]).histogram;
    h.set(r.bucket, (h.get(r.bucket) ?? 0) + r.n);
    all.set(r.bucket, (all.get(r.bucket) ?? 0) + r.n);
  }
  return {
    hours: starts.map((start, i) => {
      const h = perHour[i] as (typeof perHour)[number];
      return { start, counts: h.counts, latency: percentiles(h.histogram) };
    }),
    totals,
    latency: percentiles(all),
  };
}

/** What the dashboard's script gets (as JSON in the page): labels and one array per series. */
export interface ChartData {
  labels: string[];
  counts: Record<AuthSeries, number[]>;
  latency: Record<`p${Percentile}`, Array<number | null>>;
}

/** The chart view of a window: hour labels ("11-29 14:00" UTC for a week, "14:00" for a day). */
export function chartData(stats: WindowStats, withDate: boolean): ChartData {
  const label = (start: number) => {
    const iso = new Date(start).toISOString();
    return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
  };
  return {
    labels: stats.hours.map((h) => label(h.start)),
    counts: Object.fromEntries(AUTH_SERIES.map((s) => [s, stats.hours.map((h) => h.counts[s])])) as Record<AuthSeries, number[]>,
    latency: {
      p50: stats.hours.map((h) => h.latency[50]),
      p95: stats.hours.map((h) => h.latency[95]),
      p99: stats.hours.map((h) => h.latency[99]),
    },
  };
}
