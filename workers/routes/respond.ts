import type { Context } from "hono";
import { BAD_REQUEST_STATUS, callerReason, type BadRequestReason } from "../../core/codes";
import { loadConfig } from "../config/load";
import { admitByIp } from "../domain/ip-limit";
import { clientIp } from "../lib/client-ip";
import { cap } from "../../core/redact";
import { auditAuth, countAuthFailure, type AuthAudit, type AuthFailure } from "../store/audit";
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

/** Where links point: the configured public base URL, else the origin this request came to. */
export function publicBaseUrl<E extends { Bindings: Env }>(c: Context<E>): string {
  return c.env.PUBLIC_BASE_URL?.replace(/\/$/, "") || new URL(c.req.url).origin;
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

/** The per-IP scope of failed keyed calls (Magic Link and offline API). */
export const AUTH_FAILURE_SCOPE = "auth-fail";

/**
 * A call refused before it proved a key (no key, wrong key, unknown endpoint, bad parameters
 * ahead of the key check). Anyone can send these, so each is logged but only counted in the
 * audit log (one row per hour, endpoint and reason), and a client address that keeps failing
 * gets BAD_REQUEST 429 rate_limited and is no longer counted at all.
 * `endpoint`: the configured endpoint the call named, or null when it named none that exists.
 */
export async function refuseUnauthenticated<E extends { Bindings: Env }>(
  c: Context<E>,
  failure: AuthFailure & { requested: string },
): Promise<Response> {
  const { requested, ...counted } = failure;
  const ip = clientIp(c.req.raw.headers);
  const limit = await admitByIp(c.env, AUTH_FAILURE_SCOPE, ip, loadConfig(c.env).ipFailureLimit);
  // The requested name is attacker-chosen: the log gets a bounded (and redacted) copy.
  const line = { endpoint: cap(requested, 80), msisdn: counted.msisdn, reason: counted.reason, ip };
  if (!limit.allowed) {
    log.warn("auth_refused", { ...line, rateLimited: true });
    return badRequest(c, "rate_limited", limit.retryAfterMs);
  }
  log.info("auth_refused", line);
  c.executionCtx.waitUntil(
    countAuthFailure(c.env.DB, counted).catch((e: unknown) => log.error("audit_write_failed", { error: String(e) })),
  );
  return badRequest(c, counted.reason);
}
