import { fromBase64url } from "../../core/base64url";
import { isAllowedPushEndpoint, pushHostsFromEnv } from "../lib/push-hosts";

/**
 * Registration-time half of the push egress rule (the send-time half is in sendWebPush): a
 * device may only register a subscription at an allowed push service. The app gets a clear
 * refusal instead of a device whose pushes silently never leave.
 */
export const PUSH_SERVICE_NOT_ALLOWED = {
  error: "push_service_not_allowed",
  message: "this push service is not allowed here (PUSH_HOST_ALLOWLIST)",
} as const;

export function subscriptionAllowed(env: Env, subscription: { endpoint: string } | null | undefined): boolean {
  return !subscription || isAllowedPushEndpoint(subscription.endpoint, pushHostsFromEnv(env));
}

/**
 * The subscription a signed device update carries, read before the signature is checked:
 * only to refuse early. What is stored is the same payload, verified by the Subscriber.
 */
export function deviceUpdateAllowed(env: Env, jws: string): boolean {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(fromBase64url(jws.split(".")[1] ?? "")));
  } catch {
    return true; // not ours to judge: the Subscriber refuses a malformed update
  }
  const sub = (claims as { subscription?: { endpoint?: unknown } } | null)?.subscription;
  if (!sub || typeof sub.endpoint !== "string") return true;
  return subscriptionAllowed(env, { endpoint: sub.endpoint });
}
