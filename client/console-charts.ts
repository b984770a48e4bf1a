/**
 * The admin console dashboard's charts (served as /admin/assets/charts.js): reads the figures
 * the page embeds as JSON (<script type="application/json" id="auth-stats">; the console's CSP
 * allows no inline script) and draws them with chart.js. The page's tables hold the same figures
 * for readers without JavaScript or a screen.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Title,
  Tooltip,
} from "chart.js";
import { AUTH_SERIES, type AuthSeries, type ChartData, SERIES_LABELS } from "../core/auth-stats";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Title, Tooltip);

const COLORS: Record<AuthSeries, string> = {
  accepted: "#0b6e4f",
  rejected: "#a4161a",
  notResponded: "#e09f3e",
  failedDelivery: "#6a4c93",
  badRequest: "#7f7f7f",
  other: "#1982c4",
};
const LATENCY_COLORS = { p50: "#0b6e4f", p95: "#e09f3e", p99: "#a4161a" } as const;

/** Marks what was drawn on the canvas (the e2e test reads it; harmless otherwise). */
function record(canvas: HTMLCanvasElement, chart: Chart) {
  canvas.dataset.series = JSON.stringify(chart.data.datasets.map((d) => d.label));
  canvas.dataset.totals = JSON.stringify(
    chart.data.datasets.map((d) => (d.data as Array<number | null>).reduce<number>((a, v) => a + (v ?? 0), 0)),
  );
}

function countsChart(canvas: HTMLCanvasElement, data: ChartData, title: string) {
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: AUTH_SERIES.map((s) => ({ label: SERIES_LABELS[s], data: data.counts[s], backgroundColor: COLORS[s] })),
    },
    options: {
      animation: false,
      plugins: { title: { display: true, text: title } },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "calls" } } },
    },
  });
  record(canvas, chart);
}

function latencyChart(canvas: HTMLCanvasElement, data: ChartData, title: string) {
  const chart = new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: (["p50", "p95", "p99"] as const).map((p) => ({
        label: p,
        data: data.latency[p],
        borderColor: LATENCY_COLORS[p],
        backgroundColor: LATENCY_COLORS[p],
        spanGaps: false,
      })),
    },
    options: {
      animation: false,
      plugins: { title: { display: true, text: title } },
      scales: { y: { beginAtZero: true, title: { display: true, text: "ms" } } },
    },
  });
  record(canvas, chart);
}

function main() {
  const source = document.getElementById("auth-stats");
  if (!source?.textContent) return;
  const stats = JSON.parse(source.textContent) as { day: ChartData; week: ChartData };
  const draw = (id: string, chart: typeof countsChart, data: ChartData, title: string) => {
    const canvas = document.getElementById(id);
    if (canvas instanceof HTMLCanvasElement) chart(canvas, data, title);
  };
  draw("chart-day-counts", countsChart, stats.day, "Authentications per hour, last 24 hours (UTC)");
  draw("chart-day-latency", latencyChart, stats.day, "Latency per hour, last 24 hours (ms)");
  draw("chart-week-counts", countsChart, stats.week, "Authentications per hour, last 7 days (UTC)");
  draw("chart-week-latency", latencyChart, stats.week, "Latency per hour, last 7 days (ms)");
}

main();
