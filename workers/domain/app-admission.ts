/**
 * Admission of authenticator-app API calls, before any Durable Object is touched. The app API
 * needs no credential, so anyone can send calls naming any number; these limits keep a flood
 * from reaching the number's Subscriber (whose writing methods are serialised) at all.
 * Workers Rate Limiting bindings: per-location counters, cheap, no storage of ours.
 */

export type Admission = { ok: true } | { ok: false; scope: "ip" | "number" };

/**
 * Per client IP first (one source cannot exhaust a victim's number budget on its own), then per
 * number (bounds a distributed flood; a number over it falls back to SMS links like an
 * unreachable app). Without CF-Connecting-IP (only local dev and tests: Cloudflare always sets
 * it) there is no IP to count.
 */
export async function admitAppCall(env: Env, clientIp: string | undefined, msisdn: string | null): Promise<Admission> {
  if (clientIp && !(await env.APP_API_PER_IP.limit({ key: clientIp })).success) return { ok: false, scope: "ip" };
  if (msisdn && !(await env.APP_API_PER_NUMBER.limit({ key: msisdn })).success) return { ok: false, scope: "number" };
  return { ok: true };
}
