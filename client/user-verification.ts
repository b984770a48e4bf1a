/**
 * Biometric or device-PIN approval (WebAuthn, @simplewebauthn/browser): the platform
 * credential registered at activation, and the assertion an Accept carries where the
 * endpoint asks for user verification. The edge checks both (workers/lib/webauthn.ts).
 */
import { startAuthentication, startRegistration } from "@simplewebauthn/browser";
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from "@simplewebauthn/browser";
import { APP_API_PATHS } from "../core/contracts/app-api-paths";
import { approvalChallenge } from "../core/user-verification";
import { api } from "./api";

/** Whether this device has a platform authenticator that verifies its user (biometrics, screen lock). */
export async function platformAuthenticatorAvailable(): Promise<boolean> {
  try {
    return typeof PublicKeyCredential !== "undefined" && (await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable());
  } catch {
    return false;
  }
}

export type Registration =
  | { kind: "registered"; response: RegistrationResponseJSON }
  /** No platform authenticator here: the device activates without; endpoints that need one say so. */
  | { kind: "unavailable" }
  /** The user cancelled or the authenticator failed: they may try again or go on without. */
  | { kind: "failed"; reason: string };

/** Registers a platform credential with user verification for the activation token. */
export async function registerCredential(msisdn: string, token: string): Promise<Registration> {
  if (!(await platformAuthenticatorAvailable())) return { kind: "unavailable" };
  try {
    const optionsJSON = await api<PublicKeyCredentialCreationOptionsJSON>(APP_API_PATHS.registrationOptions, { msisdn, token });
    return { kind: "registered", response: await startRegistration({ optionsJSON }) };
  } catch (e) {
    return { kind: "failed", reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Asks the user to verify (fingerprint, face, PIN) for an Accept of this challenge under this nonce. */
export async function verifyUserForAccept(credentialId: string, challengeId: string, nonce: string) {
  return startAuthentication({
    optionsJSON: {
      challenge: await approvalChallenge(challengeId, nonce, "accept"),
      rpId: location.hostname,
      allowCredentials: [{ id: credentialId, type: "public-key", transports: ["internal"] }],
      userVerification: "required",
      timeout: 60_000,
    },
  });
}
