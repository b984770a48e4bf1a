import { compactVerify, importJWK } from "jose";
import type { DevicePublicKey } from "./contracts/app-api.ts";

/**
 * Device signatures are ES256 compact JWS (made by jws-sign.ts on the device); the edge
 * verifies with jose, pinned to ES256 so no other algorithm (or "none") can be slipped in.
 */

/** The JSON payload if the signature is valid for this key, else null. Never throws. */
export async function verifyCompactJws(publicKey: DevicePublicKey, jws: string): Promise<unknown> {
  try {
    const key = await importJWK({ ...publicKey, alg: "ES256" }, "ES256");
    const { payload } = await compactVerify(jws, key, { algorithms: ["ES256"] });
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return null;
  }
}
