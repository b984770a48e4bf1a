import type { BadRequestReason } from "../../core/codes";
import { cap } from "../../core/redact";
import { loadConfig } from "../config/load";
import { countAuthFailure, type AuthFailure } from "../store/audit";
import { log } from "../lib/log";
import { admitByIp } from "./ip-limit";

/** The per-IP scope of failed keyed calls (Magic Link and offline API). */
export const AUTH_FAILURE_SCOPE = "auth-fail";

/**
 * A call refused before it proved a key (no key, wrong key, unknown endpoint, bad parameters
 * ahead of the key check). Anyone can send these, so each is logged but only counted in the
 * audit log (one row per hour, endpoint and reason), and a client address that keeps failing
 * gets rate_limited and is no longer counted at all. Answers the reason to refuse with.
 * `endpoint`: the configured endpoint the call named, or null when it named none that exists.
 */
export async function refuseUnauthenticatedCall(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  ip: string | null,
  failure: AuthFailure & { requested: string },
): Promise<{ reason: BadRequestReason; retryAfterMs?: number }> {
  const { requested, ...counted } = failure;
  const limit = await admitByIp(env, AUTH_FAILURE_SCOPE, ip, loadConfig(env).ipFailureLimit);
  // The requested name is attacker-chosen: the log gets a bounded (and redacted) copy.
  const line = { endpoint: cap(requested, 80), msisdn: counted.msisdn, reason: counted.reason, ip };
  if (!limit.allowed) {
    log.warn("auth_refused", { ...line, rateLimited: true });
    return { reason: "rate_limited", retryAfterMs: limit.retryAfterMs };
  }
  log.info("auth_refused", line);
  waitUntil(countAuthFailure(env.DB, counted).catch((e: unknown) => log.error("audit_write_failed", { error: String(e) })));
  return { reason: counted.reason };
}
