import type { Endpoint } from "../config/schema";
import { maskMsisdn } from "../../core/msisdn";
import { judgePin, PIN_NOTICE_INTERVAL_MS, type PinPurpose, pinNoticeText } from "../../core/number-pin";
import { smsProviderFromEnv } from "../sms/from-env";
import { applyPending, cancelPending, pinOrGet, recordPendingChange } from "../store/relay-pins";
import { log } from "../lib/log";

export type PinCheck = { ok: true } | { ok: false; reason: "number_changed" };

/**
 * Which number may prove a RADIUS user: the one pinned for (relay endpoint, username) at
 * first use. Called once per relay API call that names a number, before anything is sent
 * or verified (workers/routes/relay-api.ts). Another number is refused as number_changed,
 * recorded as pending for an operator (or applied after the endpoint's notice period with
 * numberChange "accept-after-notice"), and the pinned number gets an SMS notice (at most
 * one a day per user).
 */
export async function checkPinnedNumber(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  p: { endpoint: Endpoint; relay: string; username: string; msisdn: string; purpose?: PinPurpose },
): Promise<PinCheck> {
  const now = Date.now();
  const actor = `relay:${p.relay}`;
  const db = env.DB;
  const masked = maskMsisdn(p.msisdn);
  const pin = await pinOrGet(db, p.endpoint.name, p.username, p.msisdn, now, {
    actor,
    action: "relay_pin.create",
    msisdnMasked: masked,
    detail: { username: p.username },
  });
  const noticeMs = p.endpoint.numberChangeNoticeHours * 3_600_000;
  const verdict = judgePin(pin, p.msisdn, now, p.endpoint.numberChange, noticeMs);
  if (verdict.kind === "match") {
    if (verdict.withdrawsPending) {
      await cancelPending(db, p.endpoint.name, p.username, now, {
        actor,
        action: "relay_pin.change_withdrawn",
        msisdnMasked: masked,
        detail: { username: p.username, withdrawn: pin.pending_msisdn ? maskMsisdn(pin.pending_msisdn) : null },
      });
    }
    return { ok: true };
  }
  if (verdict.kind === "apply_pending") {
    const applied = await applyPending(db, p.endpoint.name, p.username, { expected: p.msisdn, maxPendingAt: now - noticeMs }, now, {
      actor,
      action: "relay_pin.change_applied",
      msisdnMasked: masked,
      detail: { username: p.username, policy: "accept-after-notice", previous: maskMsisdn(pin.msisdn) },
    });
    if (applied) return { ok: true };
  }
  const notify = await recordPendingChange(db, p.endpoint.name, p.username, p.msisdn, now, PIN_NOTICE_INTERVAL_MS, {
    actor,
    action: "relay_pin.change_pending",
    msisdnMasked: masked,
    detail: { username: p.username, pinned: maskMsisdn(pin.msisdn) },
  });
  log.warn("number_changed", {
    endpoint: p.endpoint.name,
    username: p.username,
    pinned: maskMsisdn(pin.msisdn),
    reported: masked,
    notice: notify !== null,
  });
  if (notify) {
    waitUntil(
      smsProviderFromEnv(env)
        .send({ to: notify, text: pinNoticeText(p.username, masked, p.purpose), link: "" })
        .catch((e: unknown) => log.error("delivery_failed", { channel: "pin-notice", error: String(e) })),
    );
  }
  return { ok: false, reason: "number_changed" };
}
