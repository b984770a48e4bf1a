import { env } from "cloudflare:workers";
import { gatewayRequests } from "./magic-link";

/**
 * Activation started in the app (POST /app/api/activation-request): reading the activation SMS
 * the fake gateway got, and calling the Worker with another MFA_CONFIG.
 */
const ACTIVATION_SMS = /open (https:\/\/mfa\.example\.com\/app\/#activate=([A-Za-z0-9_-]+)&msisdn=(\S+)) and type the code (\d{6})/;

export type ActivationSms = { link: string; token: string; msisdn: string; code: string };

export function activationSmsIn(text: string | null | undefined): ActivationSms | null {
  const m = text?.match(ACTIVATION_SMS);
  return m ? { link: m[1]!, token: m[2]!, msisdn: decodeURIComponent(m[3]!), code: m[4]! } : null;
}

/** The activation SMS sent to `msisdn` (waits for it: it goes out after the answer). */
export async function activationSms(msisdn: string): Promise<ActivationSms> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const found = (await gatewayRequests(msisdn)).map((r) => activationSmsIn(r.text)).filter(Boolean);
    if (found.length) return found.at(-1)!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no activation SMS reached ${msisdn}`);
}

/** Activation SMS sent to a number after the deliveries settled (the Worker sends them after answering). */
export async function activationSmsCount(msisdn: string): Promise<number> {
  await new Promise((r) => setTimeout(r, 300));
  return (await gatewayRequests(msisdn)).filter((r) => activationSmsIn(r.text)).length;
}

/** The MFA_CONFIG the worker tests run with (test/support/test-config.ts). */
export const TEST_CONFIG = JSON.parse(env.MFA_CONFIG) as Record<string, unknown> & { appActivation?: unknown };

/**
 * Calls the Worker with another MFA_CONFIG; the deliveries started after the answer are
 * awaited. `ip` is sent as CF-Connecting-IP.
 */
export async function withConfig(config: unknown, path: string, body: unknown, ip?: string): Promise<Response> {
  const worker = (await import("../../../workers/index")).default;
  const later: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => later.push(p), passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const res = await worker.fetch(
    new Request(`https://mfa.example.com/app/api/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(ip ? { "cf-connecting-ip": ip } : {}) },
      body: JSON.stringify(body),
    }),
    { ...env, MFA_CONFIG: JSON.stringify(config) } as Env,
    ctx,
  );
  await Promise.all(later);
  return res;
}
