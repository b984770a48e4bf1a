/**
 * Pure request checks against cross-site form posts (with the per-session token in gate.tsx).
 * A browser sends Origin on every POST and Sec-Fetch-Site on every request: either one naming
 * another site refuses the request. A client that sends neither (curl) is not a browser an
 * attacker can drive, and still needs the session cookie and the token.
 */
export function sameOriginRequest(headers: Headers, requestUrl: string): boolean {
  const site = headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin") return false;
  const origin = headers.get("origin");
  if (origin !== null && origin !== new URL(requestUrl).origin) return false;
  return true;
}

/** Methods that change nothing (and so need no token). Every other method is treated as a form post. */
export const isSafeMethod = (method: string): boolean => method === "GET" || method === "HEAD";
