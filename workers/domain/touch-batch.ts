import type { z } from "zod";
import type { Config, Endpoint } from "../config/schema";
import { EDGE_UNAVAILABLE_ERROR, NUMBER_CHANGED } from "../../core/contracts/relay";
import type { TOUCH_BATCH, TouchBatchLine } from "../../core/contracts/relay-api";
import { isTransientPlatformError } from "../lib/platform-errors";
import { log } from "../lib/log";
import { checkPinnedNumber } from "./number-pins";
import { runRelayTouch } from "./relay-touch";

/**
 * A batched relay Touch (core/contracts/relay-api.ts TOUCH_BATCH): every login runs as a
 * single Touch call does, side by side. The call's token (checked before this runs) binds
 * the whole body, so each login is bound as it is alone; the per-user checks a single call
 * gets before it runs (the pinned number) are made here, login by login, and every login
 * then meets the same per-number limits and leaves the same audit row and log line.
 */
export type BatchLogin = z.output<typeof TOUCH_BATCH.request>["logins"][number];

export interface TouchBatchRun {
  env: Env;
  config: Config;
  endpoint: Endpoint;
  /** The calling relay's name (the pin check's actor, the log lines). */
  relay: string;
  publicOrigin: string;
  waitUntil: (p: Promise<unknown>) => void;
  /** A login's log line and audit row, as the single Touch call writes them. */
  record: (msisdn: string, result: string, detail?: Record<string, unknown>) => void;
}

/** Runs every login; `emit` gets each one's line as soon as it is decided (so not in request order). */
export async function runTouchBatch(run: TouchBatchRun, logins: BatchLogin[], emit: (line: TouchBatchLine) => void): Promise<void> {
  await Promise.all(logins.map(async (login, i) => emit(await runLogin(run, login, i))));
}

async function runLogin(run: TouchBatchRun, login: BatchLogin, i: number): Promise<TouchBatchLine> {
  try {
    const pin = await checkPinnedNumber(run.env, run.waitUntil, {
      endpoint: run.endpoint,
      relay: run.relay,
      username: login.username,
      msisdn: login.msisdn,
    });
    if (!pin.ok) {
      // Nothing was sent to the number: the same row a single call's 409 leaves.
      run.record(login.msisdn, NUMBER_CHANGED);
      return { i, error: NUMBER_CHANGED };
    }
    const touched = await runRelayTouch(run.env, run.config, run.endpoint, login, run.publicOrigin, run.waitUntil);
    run.record(login.msisdn, touched.result, touched.detail);
    return { i, ...touched.answer };
  } catch (e) {
    // As a single call: only a transient fault of the platform may let the relay's fail mode
    // apply; anything else refuses the login (and the others go on).
    if (isTransientPlatformError(e)) {
      log.warn("touch_batch_login_unavailable", { relay: run.relay, i, error: String(e) });
      return { i, error: EDGE_UNAVAILABLE_ERROR };
    }
    log.error("touch_batch_login_failed", { relay: run.relay, i, error: String(e) });
    return { i, error: "refused" };
  }
}
