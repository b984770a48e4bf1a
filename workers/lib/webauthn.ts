/**
 * WebAuthn at the edge (@simplewebauthn/server): the registration options and checks of the
 * app's platform credential, and the check of an approval's assertion. Always with user
 * verification required, ES256 or RS256, no attestation asked for (the device key, not the
 * authenticator's make, is what proves possession; see docs/security.md).
 */
import {
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { base64url, fromBase64url } from "../../core/base64url";
import type { UvCredential } from "../../core/device-activation";

/** ES256 and RS256 (Windows Hello): what platform authenticators use. */
const ALGORITHMS = [-7, -257];

/** Where the assertion must come from: the app's origin and its host as relying party. */
export interface RelyingParty {
  origin: string;
  rpId: string;
}

export function registrationOptions(
  rp: RelyingParty,
  user: { name: string; displayName: string },
  challenge: string,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: "Edge MFA",
    rpID: rp.rpId,
    userName: user.name,
    userDisplayName: user.displayName,
    challenge: fromBase64url(challenge),
    attestationType: "none",
    authenticatorSelection: { authenticatorAttachment: "platform", residentKey: "preferred", userVerification: "required" },
    supportedAlgorithmIDs: ALGORITHMS,
    timeout: 120_000,
  });
}

/** The credential of a registration with user verification for `challenge`, or null (logged by the caller). */
export async function verifyRegistration(
  response: RegistrationResponseJSON,
  challenge: string,
  rp: RelyingParty,
): Promise<{ ok: true; credential: UvCredential } | { ok: false; reason: string }> {
  try {
    const r = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    });
    if (!r.verified) return { ok: false, reason: "not_verified" };
    const { credential, credentialBackedUp } = r.registrationInfo;
    return {
      ok: true,
      credential: {
        id: credential.id,
        publicKey: base64url(credential.publicKey),
        counter: credential.counter,
        backedUp: credentialBackedUp,
        ...(credential.transports ? { transports: credential.transports.slice(0, 8) } : {}),
      },
    };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message.slice(0, 200) : "invalid" };
  }
}

/**
 * Checks an approval's assertion: the device's credential, user verified, the challenge, the
 * origin and relying party; the signature counter must grow unless the authenticator keeps
 * none (0 both times), else it may be a cloned credential. The new counter and backup state
 * are to be stored.
 */
export async function verifyApproval(
  response: AuthenticationResponseJSON,
  credential: UvCredential,
  challenge: string,
  rp: RelyingParty,
): Promise<{ ok: true; counter: number; backedUp: boolean } | { ok: false; reason: string }> {
  if (response.id !== credential.id) return { ok: false, reason: "other_credential" };
  try {
    const r = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      credential: { id: credential.id, publicKey: fromBase64url(credential.publicKey), counter: credential.counter },
      requireUserVerification: true,
    });
    if (!r.verified || !r.authenticationInfo.userVerified) return { ok: false, reason: "not_verified" };
    return { ok: true, counter: r.authenticationInfo.newCounter, backedUp: r.authenticationInfo.credentialBackedUp };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message.slice(0, 200) : "invalid" };
  }
}
