import type { RelayConfig } from "./config.ts";
import type { LiveConfig } from "./live-config.ts";
import type { Logger } from "./log.ts";
import type { RelayMetrics } from "./metrics.ts";
import { forgetHmacKeys } from "./radius/digest.ts";

/**
 * What SIGHUP may change without a restart: who the clients are and the per-request policy
 * (users, second factors, fail mode). Each request reads these once, when it starts, so a
 * login in flight finishes with the settings it began with. Anything else (listen ports,
 * edge URL and key, first factor, caches, admin and accounting sockets) is bound when the
 * relay starts: a change to it is reported as needing a restart and not applied.
 */
export const RELOADABLE = ["clients", "users", "secondFactor", "usernameAsMsisdn", "failMode"] as const satisfies ReadonlyArray<
  keyof RelayConfig
>;

export interface ReloadPlan {
  /** The config to run with: the current one with the reloadable parts of the new one. */
  config: RelayConfig;
  /** Reloadable settings that changed. */
  applied: string[];
  /** Settings that changed in the file but keep their old value until a restart. */
  restartNeeded: string[];
}

export function planReload(current: RelayConfig, next: RelayConfig): ReloadPlan {
  const reloadable = new Set<string>(RELOADABLE);
  const keys = new Set([...Object.keys(current), ...Object.keys(next)]) as Set<keyof RelayConfig>;
  const changed = [...keys].filter((k) => JSON.stringify(current[k]) !== JSON.stringify(next[k])).sort();
  const config: RelayConfig = { ...current };
  for (const k of RELOADABLE) Object.assign(config, { [k]: next[k] });
  return {
    config,
    applied: changed.filter((k) => reloadable.has(k)),
    restartNeeded: changed.filter((k) => !reloadable.has(k)),
  };
}

/**
 * One SIGHUP: load and validate the file, keep the old settings on any error (one error
 * line), apply the reloadable parts and name what needs a restart.
 */
export function applyReload(live: LiveConfig, load: () => RelayConfig, log: Logger, metrics: RelayMetrics): boolean {
  let plan: ReloadPlan;
  try {
    plan = planReload(live.current, load());
    live.replace(plan.config);
  } catch (e) {
    metrics.reload("refused");
    log.log("error", "config_reload_refused", { error: e instanceof Error ? e.message : String(e) });
    return false;
  }
  metrics.reload("applied");
  if (plan.applied.includes("clients")) forgetHmacKeys();
  if (plan.restartNeeded.length > 0) log.log("warn", "config_restart_needed", { settings: plan.restartNeeded });
  log.log("info", "config_reloaded", {
    changed: plan.applied,
    clients: plan.config.clients.length,
    users: Object.keys(plan.config.users).length,
  });
  return true;
}
