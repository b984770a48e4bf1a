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

export async function api<T = Record<string, unknown>>(path: AppApiPath, body: unknown): Promise<T> {
  const res = await fetch(`${APP_API_BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new ApiError(res.status, data);
  return data as T;
}
