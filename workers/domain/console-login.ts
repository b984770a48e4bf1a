import type { RateLimits } from "../../core/rate-limit";
import { sha256Hex } from "../../core/tokens";
import { adminTokensFromEnv, matchAdmin } from "../lib/admin-auth";
import { log } from "../lib/log";
import { auditAdmin } from "../store/audit";
import { admitByIp, admitByKey } from "./ip-limit";
import { LOGIN_PER_DEVICE, deviceBucketKey, deviceFailed, issueDevice, recogniseDevice } from "./console-device";
import { credentialFingerprint, endConsoleSession, startConsoleSession, type ConsoleSession } from "./console-session";

/**
 * Password sign-in to the admin console with an operator's named admin token (ADMIN_TOKENS,
 * as the CLI uses it). Every attempt counts against the client address and against the name
 * before the token is checked, so online guessing is capped however the attacker spreads it;
 * a wrong attempt says nothing about which half was wrong. An attempt that brings a valid
 * device cookie for that name (console-device.ts) counts against the device instead of the
 * name, so whoever floods a name cannot lock its operator out of a browser they signed in from.
 */
export const LOGIN_PER_IP: RateLimits = { perMinute: 20, perHour: 120 };
export const LOGIN_PER_NAME: RateLimits = { perMinute: 10, perHour: 60 };

/** `device`: the new device cookie's value; `forgetDevice`: the presented one is dead, clear it. */
export type SignIn =
  | { kind: "ok"; session: ConsoleSession; device: string }
  | { kind: "wrong"; forgetDevice: boolean }
  | { kind: "rate_limited"; retryAfterMs: number; forgetDevice: boolean };

/**
 * `defer` runs work after the response (the route's waitUntil): a wrong sign-in for a real
 * operator's name writes an audit row, and doing that before answering would let response time
 * tell real names from unknown ones.
 */
export async function signInToConsole(
  env: Env,
  attempt: { name: string; secret: string; ip: string | null; device?: string },
  defer: (work: Promise<unknown>) => void,
): Promise<SignIn> {
  const name = attempt.name.trim().slice(0, 64);
  const tokens = await adminTokensFromEnv(env);
  const byIp = await admitByIp(env, "console-login", attempt.ip, LOGIN_PER_IP);
  // The device only picks the bucket: the token below is checked the same way with or without it.
  const device = await recogniseDevice(env, attempt.device, name, async () => {
    const named = tokens.find((t) => t.name === name);
    return named ? credentialFingerprint(named.sha256) : null;
  });
  const forgetDevice = device.kind === "dead";
  // Names and devices get key spaces of their own (never an address bucket), hashed: any string is a key.
  const byNameOrDevice =
    device.kind === "valid"
      ? await admitByKey(env, deviceBucketKey(device.idSha256), "console-login-device", LOGIN_PER_DEVICE)
      : await admitByKey(env, `console-login:${await sha256Hex(name.toLowerCase())}`, "console-login-name", LOGIN_PER_NAME);
  if (!byIp.allowed || !byNameOrDevice.allowed) {
    const retryAfterMs = Math.max(byIp.allowed ? 0 : byIp.retryAfterMs, byNameOrDevice.allowed ? 0 : byNameOrDevice.retryAfterMs);
    log.warn("console_login_limited", { ip: attempt.ip, retryAfterMs, device: device.kind === "valid" });
    return { kind: "rate_limited", retryAfterMs, forgetDevice };
  }
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
    // A stolen device cookie buys a few guesses: DEVICE_MAX_FAILURES in a row forget the device.
    const forgotten = device.kind === "valid" && (await deviceFailed(env, device.idSha256));
    if (forgotten) log.warn("console_device_forgotten", { operator: known ?? "(unknown name)", ip: attempt.ip });
    return { kind: "wrong", forgetDevice: forgetDevice || forgotten };
  }
  const credential = await credentialFingerprint(secretSha256);
  const session = await startConsoleSession(env, owner, credential);
  const newDevice = await issueDevice(env, owner, credential, device.kind === "valid" ? device.idSha256 : null);
  await auditAdmin(env.DB, { actor: owner, action: "console.login", detail: { ip: attempt.ip } });
  return { kind: "ok", session, device: newDevice };
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
