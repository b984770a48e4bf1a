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
import type { RateLimits } from "../../core/rate-limit";
import { loadConfig } from "../config/load";
import { objectStub } from "../lib/durable-objects";
import { log } from "../lib/log";
import { smsProviderFromEnv } from "../sms/from-env";
import { resolveEndpoint } from "../store/endpoints";
import { ACTIVATION_TTL_MS } from "./app-device";
import { admitByIp, admitByKey } from "./ip-limit";

/** The IpLimiter counter of activation requests. */
export const APP_ACTIVATION_SCOPE = "app-activation";
/** The counter of the deployment's activation SMS (appActivation.smsBudget), in BUDGET_SHARDS objects. */
export const APP_ACTIVATION_BUDGET_SCOPE = "app-activation-sms";
/**
 * The budget is split over this many counters: an SMS asks one picked at random, then the next
 * while they refuse, so no counter is hot and the whole budget is usable.
 */
export const BUDGET_SHARDS = 8;

/** One counter's part of the budget (rounded up: the whole may pass it by less than BUDGET_SHARDS). */
export function budgetShare(budget: RateLimits): RateLimits {
  return { perMinute: Math.ceil(budget.perMinute / BUDGET_SHARDS), perHour: Math.ceil(budget.perHour / BUDGET_SHARDS) };
}

/** Whether the deployment's activation SMS budget has room for one more (and takes it). */
async function takeFromBudget(env: Env, budget: RateLimits): Promise<boolean> {
  const share = budgetShare(budget);
  const first = Math.floor(Math.random() * BUDGET_SHARDS);
  for (let i = 0; i < BUDGET_SHARDS; i++) {
    const shard = `budget:${(first + i) % BUDGET_SHARDS}`;
    if ((await admitByKey(env, shard, APP_ACTIVATION_BUDGET_SCOPE, share)).allowed) return true;
  }
  return false;
}

export type ActivationRequestOutcome =
  | { kind: "disabled" }
  | { kind: "rate_limited"; retryAfterMs: number }
  /** Answer 202 now; `delivery` finishes after the response (waitUntil). */
  | { kind: "accepted"; delivery: Promise<void> };

/**
 * Per client address first (answered: it says nothing about the number), then the rest in
 * `delivery`: the cap on activation codes per number, the deployment's SMS budget, the SMS.
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
  return { kind: "accepted", delivery: sendActivationSms(env, config, settings, msisdn, origin) };
}

async function sendActivationSms(
  env: Env,
  config: Config,
  settings: NonNullable<Config["appActivation"]>,
  msisdn: string,
  origin: string,
): Promise<void> {
  const endpointName = settings.endpoint;
  const line = (outcome: string) => ({ msisdn: maskMsisdn(msisdn), endpoint: endpointName, outcome });
  try {
    const endpoint = await resolveEndpoint(env.DB, config.endpoints, endpointName);
    if (!endpoint) return log.error("app_activation_request", { ...line("endpoint_missing"), alert: true });
    const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
    // Not counted against the number's sign-in rate limit: anyone may ask, so a flood of asks
    // would lock the number's sign-ins out. The activation codes' cap per number (below), with
    // a count of its own for these asks, bounds these SMS instead.
    const token = randomToken();
    const code = randomDigits(ACTIVATION_CODE_DIGITS);
    // The same grant as "Use the app" on the link page, under the same cap of codes per number
    // counted apart (requested): these asks cannot use up the link page's codes or push out its grant.
    const stored = await subscriber.grantActivation(
      await sha256Hex(token),
      Date.now() + ACTIVATION_TTL_MS,
      await activationCodeMac(token, code),
      true,
    );
    if (!stored) return log.warn("app_activation_request", line("codes_capped"));
    // Counted once the number's cap let it through: what it bounds is SMS sent. Refused after
    // the answer, like everything else here: the asker hears the same 202.
    if (!(await takeFromBudget(env, settings.smsBudget)))
      return log.warn("app_activation_request", { ...line("budget_spent"), alert: true });
    const link = `${origin}/app/#${new URLSearchParams({ activate: token, msisdn })}`;
    const title = endpoint.texts.title ?? DEFAULT_TEXTS.title;
    await smsProviderFromEnv(env).send({ to: msisdn, text: activationRequestText(title, code, link), link });
    log.info("app_activation_request", line("sent"));
  } catch (e) {
    log.error("app_activation_request", { ...line("failed"), error: String(e) });
  }
}
