import { app } from "./app";
import { purgeAudit } from "./store/audit";
import { log } from "./lib/log";

export { AsyncAuth } from "./objects/async-auth/async-auth";
export { AuthSession } from "./objects/auth-session/auth-session";
export { DevOutbox } from "./objects/dev-outbox";
export { IpLimiter } from "./objects/ip-limiter";
export { LoadShard } from "./objects/load-shard";
export { RelayChallenges } from "./objects/relay-challenges/relay-challenges";
export { RelayLink } from "./objects/relay-link/relay-link";
export { RelayReplayGuard } from "./objects/relay-replay-guard";
export { ResetSession } from "./objects/reset-session/reset-session";
export { Subscriber } from "./objects/subscriber/subscriber";

export default {
  fetch: app.fetch,
  /** Daily cron (wrangler.toml [triggers]): audit-log retention. */
  async scheduled(_controller, env) {
    const days = Number(env.AUDIT_RETENTION_DAYS || "30");
    if (!Number.isFinite(days) || days < 1)
      throw new Error(`AUDIT_RETENTION_DAYS must be a positive number, got "${env.AUDIT_RETENTION_DAYS}"`);
    const deleted = await purgeAudit(env.DB, days);
    log.info("audit_retention", { days, deleted });
  },
} satisfies ExportedHandler<Env>;
