import type { Context } from "hono";
import { BAD_REQUEST_STATUS, callerReason, type BadRequestReason } from "../lib/codes";
import { auditAuth, type AuthAudit } from "../store/audit";
import { log } from "../lib/log";

/**
 * BAD_REQUEST in the Mideye shape: the body is exactly {"code":"BAD_REQUEST"}; the reason is
 * in the X-MFA-Reason header so strict JSON clients keep working and operators can debug.
 */
export function badRequest(c: Context, logged: BadRequestReason, retryAfterMs?: number): Response {
  const reason = callerReason(logged);
  c.header("x-mfa-reason", reason);
  if (retryAfterMs !== undefined) c.header("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return c.json({ code: "BAD_REQUEST" }, BAD_REQUEST_STATUS[reason]);
}

/**
 * One authentication, recorded twice: a JSON log line now, and an audit row written after
 * the response (waitUntil), so the blocking call never waits on D1.
 */
export function recordAuth<E extends { Bindings: Env }>(c: Context<E>, event: string, entry: AuthAudit): void {
  const { detail, ...fields } = entry;
  log.info(event, { ...fields, ...detail });
  // An empty detail is stored as NULL, not "{}".
  const row = detail && Object.keys(detail).length ? entry : fields;
  c.executionCtx.waitUntil(
    auditAuth(c.env.DB, row).catch((e: unknown) => log.error("audit_write_failed", { error: String(e) })),
  );
}
