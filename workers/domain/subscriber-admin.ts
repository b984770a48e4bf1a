import { maskMsisdn } from "../../core/msisdn";
import type { LockKindName } from "../objects/subscriber/contract";
import { auditAdmin } from "../store/audit";
import { objectStub } from "../lib/durable-objects";

/** What an operator sees of a number: its activated app devices, whether it has an on-prem TOTP token, its lockouts. */
export async function subscriberSummary(env: Env, msisdn: string) {
  const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
  const devices = await subscriber.devices();
  return { devices, totp: await subscriber.hasTotpToken(), locks: await subscriber.locks() };
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
 * Revokes one app device: no more pushes to it, its offline codes stop working; the number's
 * other devices keep working. False when the number has no such device. Audited (with the
 * device's name) once the Subscriber object confirmed it.
 */
export async function revokeDevice(env: Env, actor: string, msisdn: string, deviceId: string): Promise<boolean> {
  const removed = await objectStub(env, "SUBSCRIBER", msisdn).removeDevice(deviceId);
  if (!removed) return false;
  await auditAdmin(env.DB, { actor, action: "device.revoke", msisdn: maskMsisdn(msisdn), detail: { deviceId, name: removed.name } });
  return true;
}
