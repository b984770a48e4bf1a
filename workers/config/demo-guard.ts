import { isLoopbackHost, isLoopbackTarget } from "../../core/loopback";

/**
 * Second safeguard for DEMO_MODE (public admin token, demo API key, /dev/outbox with live
 * links, public VAPID and seed keys): it is only honoured on a machine that is plainly a
 * developer's. Pure: returns why demo mode must be refused, empty when it may run (or is off).
 */
export function demoModeProblems(env: Env, requestUrl: string): string[] {
  if (env.DEMO_MODE !== "true") return [];
  const e = env as unknown as Record<string, unknown>;
  const set = (name: string) => typeof e[name] === "string" && (e[name] as string).trim() !== "";
  const problems: string[] = [];
  const admin = ["ADMIN_TOKEN_SHA256", "ADMIN_TOKENS"].filter(set);
  if (admin.length) problems.push(`a real admin credential is configured (${admin.join(", ")})`);
  const secrets = ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "SEED_ENCRYPTION_KEY"].filter(set);
  if (secrets.length) problems.push(`real secrets are configured (${secrets.join(", ")})`);
  const sms = smsDestination(e);
  if (sms) problems.push(`a real SMS provider is configured (${sms})`);
  const host = hostOf(requestUrl);
  if (!isLoopbackHost(host)) problems.push(`the request came to "${host}", not to a loopback host`);
  return problems;
}

/**
 * A provider that can reach phones: any but "outbox", unless its gateway URL is on loopback
 * (a local test gateway, as the relay tests use under `npm run dev`). Null when none.
 */
function smsDestination(e: Record<string, unknown>): string | null {
  const provider = typeof e.SMS_PROVIDER === "string" ? e.SMS_PROVIDER : "";
  if (provider === "" || provider === "outbox") return null;
  const urlVar = { http: "SMS_HTTP_URL", "46elks": "ELKS_API_URL", twilio: "TWILIO_API_BASE" }[provider];
  const url = urlVar && typeof e[urlVar] === "string" ? (e[urlVar] as string) : "";
  return url && isLoopbackTarget(hostOf(url)) ? null : `SMS_PROVIDER=${provider}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}
