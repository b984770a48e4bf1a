/**
 * One webhook delivery attempt: the endpoint's current webhook settings (so a changed URL or a
 * rotated secret applies to the next attempt), the signed POST with a time limit, and what
 * came of it. The retry schedule is state.ts's; this only reports.
 */
import { codeForStatus, styledCode } from "../../../core/codes";
import type { AsyncWebhookPayload } from "../../../core/contracts/async-auth";
import { WEBHOOK_ATTEMPT_TIMEOUT_MS } from "../../../core/webhook-retry";
import { parseSigningSecret, signWebhook } from "../../../core/webhook-signature";
import { loadConfig } from "../../config/load";
import { type Endpoint, webhookUrlRefusal } from "../../config/schema";
import { resolveEndpoint } from "../../store/endpoints";
import type { AsyncResult } from "./state";
import type { AttemptOutcome } from "./state";

export type WebhookAttempt = AttemptOutcome | { none: true };

export interface WebhookMessage {
  id: string;
  endpoint: string;
  msgId: string;
  result: AsyncResult;
}

/** The endpoint's webhook now (null: the endpoint is gone or has none). */
async function currentEndpoint(env: Env, name: string): Promise<Endpoint | null> {
  return resolveEndpoint(env.DB, loadConfig(env).endpoints, name);
}

export function webhookBody(message: WebhookMessage, endpoint: Pick<Endpoint, "responseStyle">): string {
  const payload: AsyncWebhookPayload = {
    type: "auth.finished",
    timestamp: new Date(message.result.at).toISOString(),
    data: { id: message.id, endpoint: message.endpoint, code: styledCode(codeForStatus(message.result.status), endpoint.responseStyle) },
  };
  return JSON.stringify(payload);
}

/**
 * Posts the result once. Redirects are not followed (a receiver must answer at its URL), the
 * answer's body is not read, and errors name no secret.
 */
export async function attemptWebhook(env: Env, message: WebhookMessage, now: number): Promise<WebhookAttempt> {
  const endpoint = await currentEndpoint(env, message.endpoint);
  const webhook = endpoint?.webhook;
  if (!endpoint || !webhook) return { none: true };
  const refusal = webhookUrlRefusal(webhook.url, env.DEMO_MODE === "true");
  if (refusal) return { ok: false, error: refusal, final: true };
  const secretName = webhook.signingSecret.secret;
  const secret = (env as unknown as Record<string, unknown>)[secretName];
  const key = typeof secret === "string" ? parseSigningSecret(secret) : null;
  // Counted as a failed attempt: the operator can still set the secret before the retries end.
  if (!key) return { ok: false, error: `the Worker secret ${secretName} (webhook.signingSecret) is not set or not a whsec_ secret` };
  const body = webhookBody(message, endpoint);
  const timestamp = Math.floor(now / 1000);
  try {
    const res = await fetch(webhook.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(WEBHOOK_ATTEMPT_TIMEOUT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": "edge-mfa-webhooks/1",
        "webhook-id": message.msgId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signWebhook(key, message.msgId, timestamp, body),
      },
      body,
    });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    return { ok: false, error: timedOut ? `no answer within ${WEBHOOK_ATTEMPT_TIMEOUT_MS} ms` : String(e).slice(0, 200) };
  }
}
