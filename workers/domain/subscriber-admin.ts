import { maskMsisdn } from "../../core/msisdn";
import type { LockKindName } from "../objects/subscriber/contract";
import { auditAdmin } from "../store/audit";
import { objectStub } from "../lib/durable-objects";

/** What an operator sees of a number: its activated app device (one per number, like Mideye+) and whether it has an on-prem TOTP token. */
export async function subscriberSummary(env: Env, msisdn: string) {
  const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
  const device = await subscriber.device();
  return { device, totp: await subscriber.hasTotpToken(), locks: await subscriber.locks() };
}

/**
 * Clears the number's wrong-code lockouts (offline codes, SMS OTP) after the help desk has
 * checked who is calling: the lockout is what stops online guessing, so lifting it is audited
 * like any other admin action. Answers the kinds that held anything.
 */
export async function clearSubscriberLocks(env: Env, actor: string, msisdn: string, kinds: LockKindName[]): Promise<LockKindName[]> {
  const cleared = await objectStub(env, "SUBSCRIBER", msisdn).clearLocks(kinds);
  await auditAdmin(env.DB, { actor, action: "subscriber.unlock", msisdn: maskMsisdn(msisdn), detail: { requested: kinds, cleared } });
  return cleared;
}

/**
 * Revokes an app device: no more pushes to it, its offline codes stop working. False when the
 * number has no such device. Audited once the Subscriber object confirmed it.
 */
export async function revokeDevice(env: Env, actor: string, msisdn: string, deviceId: string): Promise<boolean> {
  if (!(await objectStub(env, "SUBSCRIBER", msisdn).forgetDevice(deviceId))) return false;
  await auditAdmin(env.DB, { actor, action: "device.revoke", msisdn: maskMsisdn(msisdn), detail: { deviceId } });
  return true;
}
