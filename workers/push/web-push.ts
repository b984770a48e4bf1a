import { buildPushPayload } from "@block65/webcrypto-web-push";
import type { VapidKeys } from "../config/app-secrets";
import type { PushSubscriptionJson } from "../../core/contracts/app-api";
import { isAllowedPushEndpoint } from "../lib/push-hosts";

/**
 * Sends one Web Push message: VAPID (RFC 8292) + aes128gcm payload encryption (RFC 8291),
 * built by @block65/webcrypto-web-push on WebCrypto, then POSTed with a deadline.
 * The outcome tells the caller what to do next: gone (404/410) means the subscription is dead
 * and the device should be forgotten; failed means "try SMS instead, keep the device".
 */
export type PushResult = { kind: "delivered"; status: number } | { kind: "gone"; status: number } | { kind: "failed"; reason: string };

export interface PushOptions {
  /** Seconds the push service may hold the message for an offline device. */
  ttlSeconds: number;
  timeoutMs: number;
  /** Push service hosts (lib/push-hosts.ts); any other endpoint is not contacted. */
  allowedHosts: readonly string[];
}

export async function sendWebPush(
  subscription: PushSubscriptionJson,
  data: Record<string, string>,
  vapid: VapidKeys,
  opts: PushOptions,
): Promise<PushResult> {
  if (!isAllowedPushEndpoint(subscription.endpoint, opts.allowedHosts)) {
    return { kind: "failed", reason: "push endpoint host is not an allowed push service" };
  }
  let request: Awaited<ReturnType<typeof buildPushPayload>>;
  try {
    request = await buildPushPayload(
      { data, options: { ttl: Math.max(1, Math.round(opts.ttlSeconds)), urgency: "high" } },
      { endpoint: subscription.endpoint, expirationTime: null, keys: subscription.keys },
      vapid,
    );
  } catch (e) {
    return { kind: "failed", reason: `cannot build push: ${String(e)}` };
  }
  let res: Response;
  try {
    res = await fetch(subscription.endpoint, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      // A push service never redirects; following one would send the request elsewhere.
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (e) {
    const err = e as Error;
    return { kind: "failed", reason: err.name === "TimeoutError" ? `timed out after ${opts.timeoutMs} ms` : err.message };
  }
  await res.body?.cancel();
  if (res.status === 404 || res.status === 410) return { kind: "gone", status: res.status };
  if (res.status >= 300 && res.status < 400)
    return { kind: "failed", reason: `push service answered HTTP ${res.status} (redirects are not followed)` };
  if (res.ok) return { kind: "delivered", status: res.status };
  return { kind: "failed", reason: `push service answered HTTP ${res.status}` };
}
