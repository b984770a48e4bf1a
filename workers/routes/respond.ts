import type { Context } from "hono";
import { BAD_REQUEST_STATUS, type BadRequestReason } from "../lib/codes";

/**
 * BAD_REQUEST in the Mideye shape: the body is exactly {"code":"BAD_REQUEST"}; the reason is
 * in the X-MFA-Reason header so strict JSON clients keep working and operators can debug.
 */
export function badRequest(c: Context, reason: BadRequestReason, retryAfterMs?: number): Response {
  c.header("x-mfa-reason", reason);
  if (retryAfterMs !== undefined) c.header("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return c.json({ code: "BAD_REQUEST" }, BAD_REQUEST_STATUS[reason]);
}
