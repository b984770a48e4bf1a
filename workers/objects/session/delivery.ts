/**
 * Delivery of a session's challenge: Web Push to the user's or the approver's app (opened in
 * their Subscriber first) and the SMS link, behind a narrow host so the session object does not
 * know push details and tests can stand in for the services.
 */
import { type VapidKeys, vapidFromEnv } from "../../config/app-secrets";
import type { PushSubscriptionJson } from "../../../core/contracts/app-api";
import { logEvent } from "../../lib/log";
import { pushHostsFromEnv } from "../../lib/push-hosts";
import { type PushOptions, type PushResult, sendWebPush } from "../../push/web-push";
import { pushToDevices } from "../../push/push-to-devices";
import { smsProviderFromEnv } from "../../sms/from-env";
import type { SmsMessage } from "../../sms/provider";
import type { PushTarget } from "../subscriber/contract";
import type { PushOutcome } from "./effects";
import { objectStub } from "../../lib/durable-objects";

/** Bound on one push request; a slow push service must not hold up the SMS fallback. */
const PUSH_TIMEOUT_MS = 5000;
/** An approver's entry in their Subscriber lapses this long after the deadline if never released. */
const APPROVER_ENTRY_MARGIN_MS = 60_000;

/** What delivery needs of a number's Subscriber. */
export interface SubscriberPort {
  pushTarget(session: string): Promise<PushTarget | null>;
  approverTarget(session: string, until: number): Promise<PushTarget | null>;
  forgetDevice(deviceId: string): Promise<boolean>;
}

/**
 * What a session needs of a number's Subscriber: delivery's part, and giving back its pending
 * entry and closing its challenge when it ends. The number's own object when it hosts the
 * session (its methods called directly), else that object's stub.
 */
export interface SessionSubscriber extends SubscriberPort {
  release(session: string): Promise<void>;
  closeChallenge(session: string): Promise<void>;
}

export interface DeliveryHost {
  /** Null: push is off. Throws on a configuration error. */
  pushConfig(): { vapid: VapidKeys; allowedHosts: string[] } | null;
  subscriber(msisdn: string): SubscriberPort;
  sendPush(subscription: PushSubscriptionJson, data: Record<string, string>, vapid: VapidKeys, options: PushOptions): Promise<PushResult>;
  /** Resolves once the gateway accepted the message; throws otherwise. */
  sendSms(message: SmsMessage): Promise<void>;
}

export function envDeliveryHost(env: Env): DeliveryHost {
  return {
    pushConfig() {
      const vapid = vapidFromEnv(env);
      const allowedHosts = pushHostsFromEnv(env); // a bad PUSH_HOST_ALLOWLIST is a configuration error too
      return vapid ? { vapid, allowedHosts } : null;
    },
    subscriber: (msisdn) => objectStub(env, "SUBSCRIBER", msisdn),
    sendPush: sendWebPush,
    sendSms: async (message) => smsProviderFromEnv(env).send(message),
  };
}

/** Whose challenge is pushed, for the session's Subscriber entry and the logs. */
export interface PushRequest {
  msisdn: string;
  /** The session object's name. */
  session: string;
  endpoint: string;
  expiresAt: number;
}

/**
 * Pushes the user's challenge id if the number has an app; null means "use SMS". `beforeOpen`
 * runs just before a challenge is opened in the Subscriber (only when push is configured), so
 * the session can be stored before an app could answer it.
 */
export function pushToUser(host: DeliveryHost, request: PushRequest, beforeOpen?: () => Promise<void>): Promise<PushOutcome | null> {
  return pushChallenge(host, request, "user", async (subscriber) => {
    await beforeOpen?.();
    return subscriber.pushTarget(request.session);
  });
}

/** Pushes the asked approver's challenge; their entry lapses a margin after the deadline. */
export function pushToApprover(host: DeliveryHost, request: PushRequest): Promise<PushOutcome | null> {
  const until = request.expiresAt + APPROVER_ENTRY_MARGIN_MS;
  return pushChallenge(host, request, "approver", (subscriber) => subscriber.approverTarget(request.session, until));
}

/**
 * Opens a challenge in the number's Subscriber (`open`) and pushes its id to each of its
 * devices that can get pushes, in parallel. Null: no push (not configured, no device, or every
 * push service says its device is gone; a gone device is forgotten). `delivered: false`: no
 * push went through, but the challenge exists.
 */
async function pushChallenge(
  host: DeliveryHost,
  request: PushRequest,
  role: "user" | "approver",
  open: (subscriber: SubscriberPort) => Promise<PushTarget | null>,
): Promise<PushOutcome | null> {
  let config: ReturnType<DeliveryHost["pushConfig"]>;
  try {
    config = host.pushConfig();
  } catch (e) {
    logEvent("error", "push_misconfigured", { error: String(e) });
    return null;
  }
  if (!config) return null;
  const { vapid, allowedHosts } = config;
  const subscriber = host.subscriber(request.msisdn);
  const target = await open(subscriber);
  if (!target) return null;
  const ttlSeconds = Math.ceil((request.expiresAt - Date.now()) / 1000);
  const fields = { endpoint: request.endpoint, role };
  const options = { ttlSeconds, timeoutMs: PUSH_TIMEOUT_MS, allowedHosts };
  const pushed = await pushToDevices(target.devices, { c: target.challengeId }, vapid, options, host.sendPush);
  const results = await Promise.all(
    pushed.map(async ({ deviceId, result }) => {
      if (result.kind === "gone") {
        // The push service says the subscription is dead: that app was removed or reset.
        await subscriber.forgetDevice(deviceId);
        logEvent("warn", "push_gone", { ...fields, status: result.status });
      } else if (result.kind === "failed") {
        logEvent("warn", "push_failed", { ...fields, error: result.reason });
      }
      return result.kind;
    }),
  );
  if (results.every((kind) => kind === "gone")) return null;
  const userVerifying = target.devices.some((d, i) => d.userVerifying && results[i] !== "gone");
  return { challenge: { challengeId: target.challengeId }, delivered: results.includes("delivered"), userVerifying };
}
