import { Hono } from "hono";
import { chartData, hourWindow, windowStats } from "../../../core/auth-stats";
import { CONSOLE_CHARTS_JS } from "../../generated/client-assets";
import { DashboardPage } from "../../pages/console/dashboard";
import { latencyHistogram, resultCounts } from "../../store/auth-stats";
import type { ConsoleEnv } from "./context";

/**
 * Console: the dashboard (mounted at /admin/, so "/" here), with charts of authentications per
 * hour by result and latency percentiles over the last day and week, and its chart script.
 */
export const consoleDashboard = new Hono<ConsoleEnv>();

const DAY_HOURS = 24;
const WEEK_HOURS = 7 * 24;

consoleDashboard.get("/", async (c) => {
  const now = Date.now();
  // One read of the week serves both windows: the day is its last 24 hours.
  const { from, until } = hourWindow(now, WEEK_HOURS);
  const [counts, latencies] = await Promise.all([resultCounts(c.env.DB, from, until), latencyHistogram(c.env.DB, from, until)]);
  const day = windowStats(now, DAY_HOURS, counts, latencies);
  const week = windowStats(now, WEEK_HOURS, counts, latencies);
  return c.html(
    <DashboardPage
      operator={c.get("operator")}
      csrfToken={c.get("csrfToken")}
      day={day}
      week={week}
      charts={{ day: chartData(day, false), week: chartData(week, true) }}
    />,
  );
});

/** The charts script (client/console-charts.ts with chart.js), bundled by scripts/build-client.mjs. */
consoleDashboard.get("/assets/charts.js", (c) =>
  c.body(CONSOLE_CHARTS_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }),
);
