import { APP_API_BASE, type AppApiPath } from "../core/contracts/app-api-paths";

/** Calls to the app's edge API (same origin, JSON). Errors carry the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

/**
 * How far the edge's clock is ahead of this phone's, from the last answer's Date header.
 * Signed reads and updates carry `iat`, which the edge refuses outside ±5 minutes: a phone
 * whose clock is off still signs times the edge accepts.
 */
let serverOffsetMs = 0;

/** The edge's time as best known (Date.now() until an answer has said otherwise). */
export function serverNow(): number {
  return Date.now() + serverOffsetMs;
}

/** Takes the edge's clock from an answer's Date header (1 s resolution, ample for ±5 min). */
export function noteServerDate(date: string | null, now = Date.now()): void {
  const at = date ? Date.parse(date) : Number.NaN;
  if (Number.isFinite(at)) serverOffsetMs = at - now;
}

export async function api<T = Record<string, unknown>>(path: AppApiPath, body: unknown): Promise<T> {
  const res = await fetch(`${APP_API_BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  noteServerDate(res.headers.get("date"));
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new ApiError(res.status, data);
  return data as T;
}
