/**
 * Activation started in the app (Mideye+: open the app, enter your number, the activation SMS
 * arrives). Anyone may ask for any number, so the asker learns nothing: the answer is the same
 * for every number (sent, rate-limited for that number, gateway failure, has a device or not),
 * and everything that depends on the number runs after the answer. The SMS carries both
 * halves of the existing activation (the link with the token, and the code), so the proof is
 * possession of that SMS, exactly as for activation from the link page.
 */
import { activationCodeMac, activationRequestText, ACTIVATION_CODE_DIGITS } from "../../core/device-activation";
import { maskMsisdn } from "../../core/msisdn";
import { randomDigits } from "../../core/otp";
import { randomToken, sha256Hex } from "../../core/tokens";
import { DEFAULT_TEXTS, type Config } from "../config/schema";
import { loadConfig } from "../config/load";
import { objectStub } from "../lib/durable-objects";
import { log } from "../lib/log";
import { smsProviderFromEnv } from "../sms/from-env";
import { resolveEndpoint } from "../store/endpoints";
import { ACTIVATION_TTL_MS } from "./app-device";
import { admitByIp } from "./ip-limit";

/** The IpLimiter counter of activation requests. */
export const APP_ACTIVATION_SCOPE = "app-activation";

export type ActivationRequestOutcome =
  | { kind: "disabled" }
  | { kind: "rate_limited"; retryAfterMs: number }
  /** Answer 202 now; `delivery` finishes after the response (waitUntil). */
  | { kind: "accepted"; delivery: Promise<void> };

/**
 * Per client address first (answered: it says nothing about the number), then the rest in
 * `delivery`: the cap on activation codes per number, the SMS.
 */
export async function requestActivation(env: Env, ip: string | null, msisdn: string, origin: string): Promise<ActivationRequestOutcome> {
  const config = loadConfig(env);
  const settings = config.appActivation;
  if (!settings) return { kind: "disabled" };
  const byIp = await admitByIp(env, APP_ACTIVATION_SCOPE, ip, settings.ipLimit);
  if (!byIp.allowed) {
    log.warn("app_activation_request", { outcome: "ip_rate_limited" });
    return { kind: "rate_limited", retryAfterMs: byIp.retryAfterMs };
  }
  return { kind: "accepted", delivery: sendActivationSms(env, config, settings.endpoint, msisdn, origin) };
}

async function sendActivationSms(env: Env, config: Config, endpointName: string, msisdn: string, origin: string): Promise<void> {
  const line = (outcome: string) => ({ msisdn: maskMsisdn(msisdn), endpoint: endpointName, outcome });
  try {
    const endpoint = await resolveEndpoint(env.DB, config.endpoints, endpointName);
    if (!endpoint) return log.error("app_activation_request", { ...line("endpoint_missing"), alert: true });
    const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
    // Not counted against the number's sign-in rate limit: anyone may ask, so a flood of asks
    // would lock the number's sign-ins out. The activation codes' own cap per number (below)
    // bounds these SMS instead.
    const token = randomToken();
    const code = randomDigits(ACTIVATION_CODE_DIGITS);
    // The same grant as "Use the app" on the link page, under its cap of codes per number.
    const stored = await subscriber.grantActivation(
      await sha256Hex(token),
      Date.now() + ACTIVATION_TTL_MS,
      await activationCodeMac(token, code),
    );
    if (!stored) return log.warn("app_activation_request", line("codes_capped"));
    const link = `${origin}/app/#${new URLSearchParams({ activate: token, msisdn })}`;
    const title = endpoint.texts.title ?? DEFAULT_TEXTS.title;
    await smsProviderFromEnv(env).send({ to: msisdn, text: activationRequestText(title, code, link), link });
    log.info("app_activation_request", line("sent"));
  } catch (e) {
    log.error("app_activation_request", { ...line("failed"), error: String(e) });
  }
}
