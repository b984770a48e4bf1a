import { maskMsisdn } from "../../core/msisdn";
import { applyPending, cancelPending, getPin, removePin, type PinRow } from "../store/relay-pins";

/**
 * Operator decisions on RADIUS users' pinned numbers (see number-pins.ts for how pins are made
 * and changes become pending). Each store call writes its change and audit row together.
 */

export type PinConfirm =
  | { kind: "confirmed"; pin: PinRow }
  | { kind: "no_pending" }
  /** The operator named a number, and it is not the pending one. */
  | { kind: "not_that_number" }
  /** Another change replaced the pending number between the read and the write. */
  | { kind: "changed_meanwhile" };

/**
 * Confirms the pending number: it becomes the pinned one. With `msisdn`, only if that is the
 * pending number (so a number that replaced the one the operator checked is not confirmed).
 */
export async function confirmPinChange(env: Env, actor: string, endpoint: string, username: string, msisdn?: string): Promise<PinConfirm> {
  const pin = await getPin(env.DB, endpoint, username);
  if (!pin?.pending_msisdn) return { kind: "no_pending" };
  if (msisdn && msisdn !== pin.pending_msisdn) return { kind: "not_that_number" };
  const expected = msisdn ?? pin.pending_msisdn;
  const applied = await applyPending(env.DB, endpoint, username, { expected }, Date.now(), {
    actor,
    action: "relay_pin.confirm",
    msisdnMasked: maskMsisdn(expected),
    detail: { username, previous: maskMsisdn(pin.msisdn) },
  });
  return applied ? { kind: "confirmed", pin: applied } : { kind: "changed_meanwhile" };
}

/** Withdraws the pending change; false when there is none. */
export async function cancelPinChange(env: Env, actor: string, endpoint: string, username: string): Promise<boolean> {
  const pin = await getPin(env.DB, endpoint, username);
  return cancelPending(env.DB, endpoint, username, Date.now(), {
    actor,
    action: "relay_pin.cancel_change",
    msisdnMasked: pin?.pending_msisdn ? maskMsisdn(pin.pending_msisdn) : "",
    detail: { username },
  });
}

/** Removes the pin (false when there is none): the next login pins whatever number the directory reports then. */
export async function removeNumberPin(env: Env, actor: string, endpoint: string, username: string): Promise<boolean> {
  const pin = await getPin(env.DB, endpoint, username);
  return removePin(env.DB, endpoint, username, Date.now(), {
    actor,
    action: "relay_pin.remove",
    msisdnMasked: pin ? maskMsisdn(pin.msisdn) : "",
    detail: { username },
  });
}
