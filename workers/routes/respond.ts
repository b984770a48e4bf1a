import type { Context, TypedResponse } from "hono";
import { BAD_REQUEST_STATUS, callerReason, type BadRequestReason } from "../../core/codes";
import { refuseUnauthenticatedCall } from "../domain/unauthenticated-calls";
import { clientIp } from "../lib/client-ip";
import type { AuthAudit, AuthFailure } from "../store/audit";
import { queueAuditAuth } from "../store/audit-batch";
import { log } from "../lib/log";

/**
 * BAD_REQUEST in the Mideye shape: the body is exactly {"code":"BAD_REQUEST"}; the reason is
 * in the X-MFA-Reason header so strict JSON clients keep working and operators can debug.
 */
export function badRequest(c: Context, logged: BadRequestReason, retryAfterMs?: number): MideyeBadRequest {
  const reason = callerReason(logged);
  c.header("x-mfa-reason", reason);
  if (retryAfterMs !== undefined) c.header("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return c.json({ code: "BAD_REQUEST" as const }, BAD_REQUEST_STATUS[reason]);
}
/** Mideye's BAD_REQUEST as a typed response (core/contracts/magic-link.ts BadRequestSchema). */
export type MideyeBadRequest = Response & TypedResponse<{ code: "BAD_REQUEST" }, (typeof BAD_REQUEST_STATUS)[BadRequestReason], "json">;

/** Where links point: the configured public base URL, else the origin this request came to. */
export function publicBaseUrl<E extends { Bindings: Env }>(c: Context<E>): string {
  return c.env.PUBLIC_BASE_URL?.replace(/\/$/, "") || new URL(c.req.url).origin;
}

/**
 * One authentication, recorded twice: a JSON log line now, and an audit row written after
 * the response (waitUntil), so the blocking call never waits on D1. Rows of calls that end
 * together are written in one D1 batch (store/audit-batch.ts).
 */
export function recordAuth<E extends { Bindings: Env }>(c: Context<E>, event: string, entry: AuthAudit): void {
  const { detail, ...fields } = entry;
  log.info(event, { ...fields, ...detail });
  // An empty detail is stored as NULL, not "{}".
  const row = detail && Object.keys(detail).length ? entry : fields;
  // Never rejects: a row D1 refuses is logged (audit_write_failed) by the call that sends it.
  c.executionCtx.waitUntil(queueAuditAuth(c.env.DB, row));
}

/**
 * A call refused before it proved a key: BAD_REQUEST for the reason the refusal policy
 * gives (refuseUnauthenticatedCall: counted per IP, rate_limited for an address that keeps failing).
 */
export async function refuseUnauthenticated<E extends { Bindings: Env }>(
  c: Context<E>,
  failure: AuthFailure & { requested: string },
): Promise<MideyeBadRequest> {
  const ip = clientIp(c.req.raw.headers);
  const refusal = await refuseUnauthenticatedCall(c.env, (p) => c.executionCtx.waitUntil(p), ip, failure);
  return badRequest(c, refusal.reason, refusal.retryAfterMs);
}
