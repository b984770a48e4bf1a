/**
 * Pure decisions of the app and its service worker (unit-tested in
 * test/worker/unit/app-routing.test.ts).
 */
import { isWellFormedToken } from "../core/tokens";

/** The app's own scope: a notification tap must land here, never on another same-origin page. */
export const APP_PATH = "/app/";

/** Whether a window's URL is the authenticator app (not, say, an open /m/ link page). */
export function isAppUrl(url: string, origin: string): boolean {
  try {
    const u = new URL(url);
    return u.origin === origin && u.pathname === APP_PATH;
  } catch {
    return false;
  }
}

/**
 * The app forgets its stored device only when the server says that device is unknown: a 404
 * for an unknown challenge, or one from a proxy or a misrouted request, must not wipe it.
 */
export function serverForgotDevice(status: number, body: Record<string, unknown>): boolean {
  return status === 404 && body.error === "unknown_device";
}

/** What the app's URL fragment asks for: an activation from the link page, a challenge, or home. */
export type HashRoute = { kind: "activate"; msisdn: string; token: string } | { kind: "challenge"; challengeId: string } | { kind: "home" };

export function routeFromHash(hash: string): HashRoute {
  const params = new URLSearchParams(hash.slice(1));
  const token = params.get("activate");
  const msisdn = params.get("msisdn");
  if (token && msisdn && isWellFormedToken(token)) return { kind: "activate", msisdn, token };
  const challengeId = params.get("c");
  if (challengeId) return { kind: "challenge", challengeId };
  return { kind: "home" };
}
