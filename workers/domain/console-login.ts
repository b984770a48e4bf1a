import type { RateLimits } from "../../core/rate-limit";
import { sha256Hex } from "../../core/tokens";
import { adminTokensFromEnv, matchAdmin } from "../lib/admin-auth";
import { log } from "../lib/log";
import { auditAdmin } from "../store/audit";
import { admitByIp, admitByKey } from "./ip-limit";
import { credentialFingerprint, endConsoleSession, startConsoleSession, type ConsoleSession } from "./console-session";

/**
 * Password sign-in to the admin console with an operator's named admin token (ADMIN_TOKENS,
 * as the CLI uses it). Every attempt counts against the client address and against the name
 * before the token is checked, so online guessing is capped however the attacker spreads it;
 * a wrong attempt says nothing about which half was wrong.
 */
export const LOGIN_PER_IP: RateLimits = { perMinute: 20, perHour: 120 };
export const LOGIN_PER_NAME: RateLimits = { perMinute: 10, perHour: 60 };

export type SignIn = { kind: "ok"; session: ConsoleSession } | { kind: "wrong" } | { kind: "rate_limited"; retryAfterMs: number };

/**
 * `defer` runs work after the response (the route's waitUntil): a wrong sign-in for a real
 * operator's name writes an audit row, and doing that before answering would let response time
 * tell real names from unknown ones.
 */
export async function signInToConsole(
  env: Env,
  attempt: { name: string; secret: string; ip: string | null },
  defer: (work: Promise<unknown>) => void,
): Promise<SignIn> {
  const name = attempt.name.trim().slice(0, 64);
  const byIp = await admitByIp(env, "console-login", attempt.ip, LOGIN_PER_IP);
  // Names get a key space of their own (never an address bucket), hashed: any string is a key.
  const byName = await admitByKey(env, `console-login:${await sha256Hex(name.toLowerCase())}`, "console-login-name", LOGIN_PER_NAME);
  if (!byIp.allowed || !byName.allowed) {
    const retryAfterMs = Math.max(byIp.allowed ? 0 : byIp.retryAfterMs, byName.allowed ? 0 : byName.retryAfterMs);
    log.warn("console_login_limited", { ip: attempt.ip, retryAfterMs });
    return { kind: "rate_limited", retryAfterMs };
  }
  const tokens = await adminTokensFromEnv(env);
  // The token is compared against every configured hash (constant time, no early exit), so
  // timing says nothing about the token; the name decides only afterwards.
  const secretSha256 = await sha256Hex(attempt.secret);
  const owner = attempt.secret.length > 0 && attempt.secret.length <= 512 ? matchAdmin(secretSha256, tokens) : null;
  if (owner === null || owner !== name) {
    // Only a configured name is written down: a mistyped secret in the name field stays out of logs.
    const known = tokens.some((t) => t.name === name) ? name : null;
    log.warn("console_login_failed", { operator: known ?? "(unknown name)", ip: attempt.ip });
    // Rows for real operators' names only (each capped by the per-name limit), so guessing cannot flood the log.
    if (known)
      defer(
        auditAdmin(env.DB, { actor: known, action: "console.login_failed", detail: { ip: attempt.ip } }).catch((e: unknown) =>
          log.error("audit_write_failed", { error: String(e) }),
        ),
      );
    return { kind: "wrong" };
  }
  const session = await startConsoleSession(env, owner, await credentialFingerprint(secretSha256));
  await auditAdmin(env.DB, { actor: owner, action: "console.login", detail: { ip: attempt.ip } });
  return { kind: "ok", session };
}

/**
 * A password session is only as good as the admin token it was signed in with: once that token
 * is removed from ADMIN_TOKENS or rotated (or the session came from Cloudflare Access, now
 * switched off), the session is ended and null is returned, so an offboarded operator or a
 * replaced leaked token does not keep the console for the rest of the session's 12 hours.
 */
export async function stillCredentialed(env: Env, session: ConsoleSession | null): Promise<ConsoleSession | null> {
  if (!session) return null;
  const tokens = await adminTokensFromEnv(env);
  const own = tokens.find((t) => t.name === session.operator);
  if (session.credential !== null && own && (await credentialFingerprint(own.sha256)) === session.credential) return session;
  log.warn("console_session_uncredentialed", { operator: session.operator });
  await endConsoleSession(env, session.id);
  return null;
}
