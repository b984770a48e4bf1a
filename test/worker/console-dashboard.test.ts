import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { AUTH_SERIES, type ChartData, HOUR_MS } from "../../core/auth-stats";
import { auditAdmin, auditAuth, countAuthFailure } from "../../workers/store/audit";
import { consoleGet } from "./support/console-app";

/**
 * The console dashboard (workers/routes/console/dashboard.tsx) over real D1 rows: this file's
 * database holds only the rows written here, so the figures are exact.
 */

const now = Date.now();
const thisHour = Math.floor(now / HOUR_MS) * HOUR_MS;
const auth = (result: string, latencyMs: number, at: number, endpoint = "default") =>
  auditAuth(env.DB, { endpoint, msisdn: "+4670*****00", channel: "sms", result, latencyMs }, at);

beforeAll(async () => {
  // This hour: 10 accepted (100..1000 ms), 2 rejected, 1 not responded, 1 failed delivery, 1 Assisted Login code.
  for (let i = 1; i <= 10; i++) await auth("TOUCH_ACCEPTED", i * 100, thisHour + i);
  await auth("TOUCH_REJECTED", 3000, thisHour + 20);
  await auth("TOUCH_REJECTED", 3000, thisHour + 21);
  await auth("USER_NOT_RESPONDED", 60_000, thisHour + 22);
  await auth("FAILED_DELIVERY", 50, thisHour + 23);
  await auth("NO_APPROVER_SELECTED", 500, thisHour + 24);
  // Refused unauthenticated calls, counted per hour: 4 calls in one row, whose latency is not a call's.
  for (let i = 0; i < 4; i++)
    await countAuthFailure(env.DB, { endpoint: "default", reason: "invalid_api_key", msisdn: null, latencyMs: 250_000 }, thisHour + 30 + i);
  // An authenticated BAD_REQUEST (bad parameter after the key check).
  await auth("BAD_REQUEST", 5, thisHour + 40);
  // Three days ago: only in the week.
  await auth("TOUCH_ACCEPTED", 400, thisHour - 72 * HOUR_MS);
  // Eight days ago: in neither.
  await auth("TOUCH_ACCEPTED", 400, thisHour - 8 * 24 * HOUR_MS);
  // Admin rows are not authentications.
  await auditAdmin(env.DB, { actor: "alice", action: "endpoint.create" }, thisHour + 50);
});

/** The totals row of a figures table, by series and percentile. */
function totals(html: string, table: "table-day" | "table-week") {
  const t = html.match(new RegExp(`<table id="${table}">[\\s\\S]*?</table>`))?.[0] ?? "";
  const foot = t.match(/<tfoot>[\s\S]*<\/tfoot>/)?.[0] ?? "";
  const cell = (attr: string) => foot.match(new RegExp(`${attr}">([^<]*)<`))?.[1];
  return {
    rows: (t.match(/<tbody>[\s\S]*<\/tbody>/)?.[0].match(/<tr>/g) ?? []).length,
    counts: Object.fromEntries(AUTH_SERIES.map((s) => [s, Number(cell(`data-series="${s}`))])),
    p50: Number(cell('data-percentile="50')),
    p99: Number(cell('data-percentile="99')),
  };
}

describe("dashboard", () => {
  it("tables: authentications by result per hour, refused calls as bad requests, over the day and the week", async () => {
    const { status, html } = await consoleGet("/admin/");
    expect(status).toBe(200);
    const day = totals(html, "table-day");
    expect(day.rows).toBe(24);
    expect(day.counts).toEqual({ accepted: 10, rejected: 2, notResponded: 1, failedDelivery: 1, badRequest: 5, other: 1 });
    const week = totals(html, "table-week");
    expect(week.rows).toBe(168);
    expect(week.counts).toEqual({ accepted: 11, rejected: 2, notResponded: 1, failedDelivery: 1, badRequest: 5, other: 1 });
  });

  it("latency percentiles over the calls that reached an endpoint (the counter rows' latency stays out)", async () => {
    const { html } = await consoleGet("/admin/");
    const day = totals(html, "table-day");
    // 16 timed calls this hour: sorted 5, 50, 100, ..., 500, 500, ...: p50 is the 8th (500 ms), p99 the 16th (60 s); each within its 25% bucket.
    expect(day.p50).toBeGreaterThan(500 / 1.25);
    expect(day.p50).toBeLessThanOrEqual(500 * 1.25);
    expect(day.p99).toBeGreaterThan(60_000 / 1.25);
    expect(day.p99).toBeLessThanOrEqual(60_000 * 1.25); // not the counter row's 250 s
  });

  it("embeds the chart data as JSON (no inline script) and loads the same-origin chart script", async () => {
    const { html } = await consoleGet("/admin/");
    const json = html.match(/<script type="application\/json" id="auth-stats">([\s\S]*?)<\/script>/)?.[1];
    const data = JSON.parse(json ?? "null") as { day: ChartData; week: ChartData };
    expect(data.day.labels).toHaveLength(24);
    expect(data.week.labels).toHaveLength(168);
    expect(data.day.counts.accepted.reduce((a, b) => a + b, 0)).toBe(10);
    expect(data.day.counts.badRequest.at(-1)).toBe(5);
    expect(data.week.counts.accepted.reduce((a, b) => a + b, 0)).toBe(11);
    expect(data.day.latency.p99.at(-1)).toBeGreaterThan(48_000);
    expect(data.day.latency.p50[0]).toBeNull();
    // Every <script> is either the JSON island or the same-origin chart script.
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    expect(scripts).toEqual(['<script src="/admin/assets/charts.js" defer="">', '<script type="application/json" id="auth-stats">']);
    for (const id of ["chart-day-counts", "chart-day-latency", "chart-week-counts", "chart-week-latency"])
      expect(html).toContain(`<canvas id="${id}"`);
  });

  it("serves the chart script: chart.js bundled", async () => {
    const { status, html, res } = await consoleGet("/admin/assets/charts.js");
    expect(status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(html).toContain("auth-stats");
    expect(html.length).toBeGreaterThan(50_000); // chart.js itself, not a stub
  });
});
