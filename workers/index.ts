import { app } from "./app";
import { purgeAudit } from "./store/audit";
import { log } from "./lib/log";

import { AsyncAuth as AsyncAuthClass } from "./objects/async-auth/async-auth";
import { AuthSession as AuthSessionClass } from "./objects/auth-session/auth-session";
import { DevOutbox as DevOutboxClass } from "./objects/dev-outbox";
import { IpLimiter as IpLimiterClass } from "./objects/ip-limiter";
import { LoadShard as LoadShardClass } from "./objects/load-shard";
import { RelayChallenges as RelayChallengesClass } from "./objects/relay-challenges/relay-challenges";
import { RelayLink as RelayLinkClass } from "./objects/relay-link/relay-link";
import { RelayReplayGuard as RelayReplayGuardClass } from "./objects/relay-replay-guard";
import { ResetSession as ResetSessionClass } from "./objects/reset-session/reset-session";
import { Subscriber as SubscriberClass } from "./objects/subscriber/subscriber";
import { metered, meteredFetch } from "./lib/metering";

// The Durable Object classes, each metered only when COST_METERING is on (the cost bench,
// workers/lib/metering.ts); the type of each is its class.
export const AsyncAuth = metered("ASYNC_AUTH", AsyncAuthClass);
export type AsyncAuth = AsyncAuthClass;
export const AuthSession = metered("AUTH_SESSION", AuthSessionClass);
export type AuthSession = AuthSessionClass;
export const DevOutbox = metered("DEV_OUTBOX", DevOutboxClass);
export type DevOutbox = DevOutboxClass;
export const IpLimiter = metered("IP_LIMITER", IpLimiterClass);
export type IpLimiter = IpLimiterClass;
export const LoadShard = metered("LOAD_SHARD", LoadShardClass);
export type LoadShard = LoadShardClass;
export const RelayChallenges = metered("RELAY_CHALLENGES", RelayChallengesClass);
export type RelayChallenges = RelayChallengesClass;
export const RelayLink = metered("RELAY_LINK", RelayLinkClass);
export type RelayLink = RelayLinkClass;
export const RelayReplayGuard = metered("RELAY_REPLAY", RelayReplayGuardClass);
export type RelayReplayGuard = RelayReplayGuardClass;
export const ResetSession = metered("RESET_SESSION", ResetSessionClass);
export type ResetSession = ResetSessionClass;
export const Subscriber = metered("SUBSCRIBER", SubscriberClass);
export type Subscriber = SubscriberClass;

export default {
  fetch: meteredFetch(app.fetch),
  /** Daily cron (wrangler.toml [triggers]): audit-log retention. */
  async scheduled(_controller, env) {
    const days = Number(env.AUDIT_RETENTION_DAYS || "30");
    if (!Number.isFinite(days) || days < 1)
      throw new Error(`AUDIT_RETENTION_DAYS must be a positive number, got "${env.AUDIT_RETENTION_DAYS}"`);
    const deleted = await purgeAudit(env.DB, days);
    log.info("audit_retention", { days, deleted });
  },
} satisfies ExportedHandler<Env>;
