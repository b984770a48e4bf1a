/**
 * Carries out one effect of a session transition against the runtime (other objects, push,
 * SMS, the waiting calls). What an effect's outcome means for the session is itself a
 * transition, handed back for the object to apply (e.g. an SMS that cannot be sent ends it).
 */
import type { FinalStatus } from "../../../core/codes";
import { log } from "../../lib/log";
import type { SmsMessage } from "../../sms/provider";
import type { LeaseHandoff } from "../auth-session/contract";
import type { AliasState } from "./approver-alias";
import { type DeliveryHost, type SessionSubscriber, pushToApprover } from "./delivery";
import type { Effect, SmsFailure, Step } from "./effects";
import type { Pending, SessionState } from "./state";
import { approverPushed, finish } from "./transitions";
import { objectStub } from "../../lib/durable-objects";

export interface EffectHost {
  env: Env;
  /** This object's id: the key of its overload lease unless the session names another (leaseId). */
  objectId: string;
  delivery: DeliveryHost;
  /** A number's Subscriber (see SessionSubscriber). */
  subscriber(msisdn: string): SessionSubscriber;
  /** The session as it is now: re-checked after every await, an answer may have landed. */
  current(): SessionState | null;
  /** Tells the waiting calls; true when one of them took `lease` to give back. */
  notifyWaiters(status: FinalStatus, lease: LeaseHandoff | null): boolean;
  /** Work that must not hold up the answer to the caller (the object stays alive until it is done). */
  background(work: Promise<unknown>): void;
}

/** The transition an effect's outcome calls for, if any. */
export type FollowUp = ((state: Pending) => Step<unknown>) | null;

/** What one transition's effects tell the later ones. */
export interface EffectRun {
  /** A waiting call took the overload lease (notify_waiters): release leaves it to that call. */
  leaseHandedOff: boolean;
}

export async function runEffect(effect: Effect, host: EffectHost, run: EffectRun): Promise<FollowUp> {
  switch (effect.kind) {
    case "log":
      log[effect.level](effect.event, effect.fields);
      return null;
    case "notify_waiters":
      if (host.notifyWaiters(effect.status, effect.leaseShard ? { shard: effect.leaseShard, id: effect.leaseId ?? host.objectId } : null))
        run.leaseHandedOff = true;
      return null;
    case "release":
      // After the waiters were notified: the answer POST need not wait on two more objects.
      host.background(release(effect, host, run.leaseHandedOff));
      return null;
    case "notify_async":
      await objectStub(host.env, "ASYNC_AUTH", effect.asyncName)
        .sessionFinished({ status: effect.status, ...(effect.answeredBy ? { answeredBy: effect.answeredBy } : {}) })
        .catch((e: unknown) => log.warn("notify_async_failed", { note: "its backstop alarm asks", error: String(e) }));
      return null;
    case "close_challenge":
      await host
        .subscriber(effect.msisdn)
        .closeChallenge(effect.session)
        .catch((e: unknown) => log.warn("close_challenge_failed", { note: "lapses on its own", error: String(e) }));
      return null;
    case "send_sms":
      return sendSms(effect.sms, effect.onFailure, host);
    case "ask_approver":
      return askApprover(effect.alias, effect.sms, host);
  }
}

/**
 * Subscriber entries and the lease (unless a waiting call took it); each also expires on its
 * own, so a failure is only logged.
 */
async function release(effect: Extract<Effect, { kind: "release" }>, host: EffectHost, leaseHandedOff: boolean): Promise<void> {
  const { env } = host;
  const releases: Promise<unknown>[] = effect.msisdns.map((msisdn) => host.subscriber(msisdn).release(effect.session));
  if (effect.leaseShard && !leaseHandedOff)
    releases.push(objectStub(env, "LOAD_SHARD", effect.leaseShard).release(effect.leaseId ?? host.objectId));
  for (const outcome of await Promise.allSettled(releases)) {
    if (outcome.status === "rejected") log.warn("release_failed", { note: "expires on its own", error: String(outcome.reason) });
  }
}

/** Sent only while the session is pending; a failure may end it (see SmsFailure). */
async function sendSms(sms: SmsMessage, onFailure: SmsFailure, host: EffectHost): Promise<FollowUp> {
  const state = host.current();
  if (state?.status !== "pending") return null;
  try {
    await host.delivery.sendSms(sms);
    return null;
  } catch (e) {
    log.error(onFailure.event, { endpoint: state.endpoint, error: String(e) });
    const status = onFailure.finish;
    return status ? (pending) => finish(pending, status, Date.now()) : null;
  }
}

/**
 * Binds the approver's link alias, then pushes to their app if the endpoint uses push (the
 * SMS link follows as approverPushed says). If they cannot be reached, nobody can approve.
 */
async function askApprover(alias: AliasState, sms: SmsMessage, host: EffectHost): Promise<FollowUp> {
  const state = host.current();
  if (state?.status !== "pending") return null;
  try {
    await objectStub(host.env, "AUTH_SESSION", alias.self).bindAlias(alias);
    const request = { msisdn: sms.to, session: state.name, endpoint: state.endpoint, expiresAt: state.expiresAt };
    const pushed = state.pushGraceMs === null ? null : await pushToApprover(host.delivery, request);
    return (pending) => approverPushed(pending, pushed, sms, Date.now());
  } catch (e) {
    log.error("approver_delivery_failed", { endpoint: state.endpoint, error: String(e) });
    return (pending) => finish(pending, "invalid_approver", Date.now());
  }
}
