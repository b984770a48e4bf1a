import { base64url, isWellFormedToken, randomToken, sha256Hex } from "../../core/tokens";
import {
  deleteConsoleSession,
  getConsoleSession,
  insertConsoleSession,
  purgeConsoleSessions,
  touchConsoleSession,
  type ConsoleSessionRow,
} from "../store/console-sessions";

/**
 * Admin console sessions: a random 256-bit id in the operator's cookie, only its SHA-256 in
 * D1. A session ends after IDLE_MS without a request, after ABSOLUTE_MS in any case, and at
 * sign-out. Its CSRF token is derived from the id (never stored), so every form of the
 * session carries the same token and a copy of the table yields neither.
 */
export const IDLE_MS = 30 * 60_000;
export const ABSOLUTE_MS = 12 * 3_600_000;
/** last_seen_at is written at most this often (one D1 write per minute of use, not per page). */
const TOUCH_EVERY_MS = 60_000;

export interface ConsoleSession {
  id: string;
  operator: string;
  csrfToken: string;
  /** What signed it in: the admin token's fingerprint, or null behind Cloudflare Access. */
  credential: string | null;
}

/** Pure: whether a stored session may still be used at `now`. */
export function sessionLive(row: Pick<ConsoleSessionRow, "created_at" | "last_seen_at">, now: number): boolean {
  return now - row.last_seen_at < IDLE_MS && now - row.created_at < ABSOLUTE_MS && row.last_seen_at <= now + 60_000;
}

/** The session's CSRF token: a hash of the id under its own label (not the stored hash). */
export async function csrfTokenFor(sessionId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`edge-mfa console csrf\0${sessionId}`));
  return base64url(new Uint8Array(digest));
}

/**
 * What a password session remembers of its admin token: a hash of the token's configured
 * SHA-256 under its own label, so the session ends when that token is removed or rotated.
 */
export async function credentialFingerprint(tokenSha256: string): Promise<string> {
  return sha256Hex(`edge-mfa console credential\0${tokenSha256.toLowerCase()}`);
}

/**
 * A new session for the operator (always a fresh id: a session id is never carried over from
 * before sign-in). `credential`: the admin token's fingerprint, or null behind Cloudflare Access.
 */
export async function startConsoleSession(
  env: Env,
  operator: string,
  credential: string | null,
  now = Date.now(),
): Promise<ConsoleSession> {
  const id = randomToken(32);
  await purgeConsoleSessions(env.DB, now - IDLE_MS, now - ABSOLUTE_MS);
  await insertConsoleSession(env.DB, { id_sha256: await sha256Hex(id), operator, created_at: now, last_seen_at: now, credential });
  return { id, operator, csrfToken: await csrfTokenFor(id), credential };
}

/** The live session the cookie names, or null (an expired one is deleted). Extends its idle time. */
export async function resumeConsoleSession(env: Env, id: string | undefined, now = Date.now()): Promise<ConsoleSession | null> {
  if (!id || !isWellFormedToken(id)) return null;
  const idSha256 = await sha256Hex(id);
  const row = await getConsoleSession(env.DB, idSha256);
  if (!row) return null;
  if (!sessionLive(row, now)) {
    await deleteConsoleSession(env.DB, idSha256);
    return null;
  }
  if (now - row.last_seen_at >= TOUCH_EVERY_MS) await touchConsoleSession(env.DB, idSha256, now);
  return { id, operator: row.operator, csrfToken: await csrfTokenFor(id), credential: row.credential };
}

export async function endConsoleSession(env: Env, id: string): Promise<void> {
  if (isWellFormedToken(id)) await deleteConsoleSession(env.DB, await sha256Hex(id));
}
