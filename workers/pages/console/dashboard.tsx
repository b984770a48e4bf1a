import { raw } from "hono/html";
import { AUTH_SERIES, type ChartData, PERCENTILES, SERIES_LABELS, type WindowStats } from "../../../core/auth-stats";
import { ConsolePage } from "./layout";

/** Where the dashboard's chart script is served (same origin: the console's CSP allows only that). */
export const CHARTS_SCRIPT_PATH = "/admin/assets/charts.js";

export interface DashboardProps {
  operator: string;
  csrfToken: string;
  day: WindowStats;
  week: WindowStats;
  charts: { day: ChartData; week: ChartData };
}

/**
 * JSON for a <script type="application/json"> element: "<" escaped so no value can close the
 * element (the figures are numbers and fixed labels, but the escaping does not rely on that).
 */
export const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

const ms = (v: number | null) => (v === null ? "—" : String(v));
const hourLabel = (start: number) => `${new Date(start).toISOString().slice(0, 13).replace("T", " ")}:00`;

/** The window's figures as a table: one row per hour (newest first), then the totals. */
function StatsTable(props: { id: string; caption: string; stats: WindowStats }) {
  return (
    <table id={props.id}>
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">Hour (UTC)</th>
          {AUTH_SERIES.map((s) => (
            <th scope="col">{SERIES_LABELS[s]}</th>
          ))}
          {PERCENTILES.map((p) => (
            <th scope="col">{`p${p} (ms)`}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {[...props.stats.hours].reverse().map((h) => (
          <tr>
            <th scope="row">{hourLabel(h.start)}</th>
            {AUTH_SERIES.map((s) => (
              <td data-series={s}>{h.counts[s]}</td>
            ))}
            {PERCENTILES.map((p) => (
              <td data-percentile={String(p)}>{ms(h.latency[p])}</td>
            ))}
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr data-total="">
          <th scope="row">Total</th>
          {AUTH_SERIES.map((s) => (
            <td data-series={s}>{props.stats.totals[s]}</td>
          ))}
          {PERCENTILES.map((p) => (
            <td data-percentile={String(p)}>{ms(props.stats.latency[p])}</td>
          ))}
        </tr>
      </tfoot>
    </table>
  );
}

/** Authentications per hour by result and latency percentiles, over the last day and week: charts (with JS) and tables (always). */
export function DashboardPage(p: DashboardProps) {
  return (
    <ConsolePage title="Dashboard" operator={p.operator} csrfToken={p.csrfToken} head={<script src={CHARTS_SCRIPT_PATH} defer />}>
      <script type="application/json" id="auth-stats">
        {raw(scriptJson(p.charts))}
      </script>
      <p class="muted">
        Counts include refused calls without a valid API key (as bad requests). Latency percentiles are read from a histogram whose buckets
        are about 25% wide, over calls that reached an endpoint.
      </p>
      <PeriodSection id="day" label="Last 24 hours" span="last 24 hours" stats={p.day} />
      <PeriodSection id="week" label="Last 7 days" span="last 7 days" stats={p.week} />
    </ConsolePage>
  );
}

/** One period's charts (drawn by the charts bundle from the ids) and the same figures as a table. */
function PeriodSection(props: { id: "day" | "week"; label: string; span: string; stats: DashboardProps["day"] }) {
  const { id, label, span, stats } = props;
  return (
    <section aria-labelledby={`last-${id}`}>
      <h2 id={`last-${id}`}>{label}</h2>
      <canvas id={`chart-${id}-counts`} role="img" aria-label={`Authentications per hour by result, ${span}; figures in the table below`} />
      <canvas id={`chart-${id}-latency`} role="img" aria-label={`Latency percentiles per hour, ${span}; figures in the table below`} />
      <details>
        <summary>Figures, {span}</summary>
        <StatsTable id={`table-${id}`} caption={`Authentications and latency per hour, ${span}`} stats={stats} />
      </details>
    </section>
  );
}
