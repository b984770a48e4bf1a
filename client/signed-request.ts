/**
 * Request bodies signed with the device key: the edge checks each against the public key it
 * stored at activation, so only this browser profile can answer or change its device.
 */
import type { AnswerClaims, DeviceRead } from "../core/contracts/app-api";
import { signCompactJws } from "../core/jws-sign";
import { randomToken } from "../core/tokens";
import { serverNow } from "./api";
import type { StoredDevice } from "./device-store";

export interface SignedBody {
  msisdn: string;
  deviceId: string;
  jws: string;
}

/** What a device update asks for (`typ`, `iat` and `jti` are added here). */
export type DeviceUpdate =
  | { claim: true }
  | { refuseReplacement: true }
  /** The `requestedAt` of the join shown to the user. */
  | { approveReplacement: number }
  | { remove: true }
  /** This device got the push of a login code: the SMS it would follow with is not sent. */
  | { otpSeen: string }
  | { subscription: PushSubscriptionJSON };

async function signedBody(signer: StoredDevice, claims: Record<string, unknown>): Promise<SignedBody> {
  const jws = await signCompactJws(signer.privateKey, claims);
  return { msisdn: signer.msisdn, deviceId: signer.deviceId, jws };
}

/** A signed answer to a challenge (`POST /app/api/answer`). */
export function signedAnswer(signer: StoredDevice, challengeId: string, claims: Omit<AnswerClaims, "typ" | "c">): Promise<SignedBody> {
  return signedBody(signer, { typ: "edge-mfa/answer", c: challengeId, ...claims });
}

/** A signed device update (`POST /app/api/device`, or `/claim` for a claim). */
export function signedDeviceUpdate(signer: StoredDevice, update: DeviceUpdate): Promise<SignedBody> {
  return signedBody(signer, { typ: "edge-mfa/device", iat: Math.floor(serverNow() / 1000), jti: randomToken(16), ...update });
}

/**
 * A signed read (`POST /app/api/pending`, `/devices`, `/challenge`): the device id alone is no
 * credential, so the app proves each read is its own.
 */
export function signedRead(signer: StoredDevice, read: DeviceRead, challengeId?: string): Promise<SignedBody> {
  return signedBody(signer, {
    typ: "edge-mfa/read",
    iat: Math.floor(serverNow() / 1000),
    r: read,
    ...(challengeId ? { c: challengeId } : {}),
  });
}
