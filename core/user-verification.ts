/**
 * Approval with user verification (WebAuthn, biometric or device PIN), pure: which challenge an
 * assertion must sign, and what an endpoint's policy makes of an app's Accept. Shared by the
 * edge (which verifies) and the app (which asks the authenticator).
 */
import { base64url } from "./base64url.ts";

/** An endpoint's approval policy (endpoint settings appApproval and uvFallback). */
export interface ApprovalPolicy {
  /** "tap": a signed Accept suffices; "user-verification": an Accept needs a WebAuthn assertion with UV. */
  approval: "tap" | "user-verification";
  /** For a device without a UV credential under "user-verification": refuse its Accepts, or take a tap. */
  fallback: "refuse" | "tap";
}

export const TAP_POLICY: ApprovalPolicy = { approval: "tap", fallback: "tap" };

/** What a device must do to Accept: tap, verify the user, or it cannot Accept at all. */
export type DeviceApproval = "tap" | "user-verification" | "unavailable";

export function deviceApproval(policy: ApprovalPolicy, deviceHasUv: boolean): DeviceApproval {
  if (policy.approval === "tap") return "tap";
  if (deviceHasUv) return "user-verification";
  return policy.fallback === "tap" ? "tap" : "unavailable";
}

/** Whether an answer may count: a Reject always; an Accept as the device's approval requires. */
export type ApprovalVerdict = "ok" | "uv_required" | "uv_unavailable";

export function approvalVerdict(
  policy: ApprovalPolicy,
  decision: "accept" | "reject",
  deviceHasUv: boolean,
  proof: "verified" | "missing" | "invalid",
): ApprovalVerdict {
  if (decision === "reject") return "ok";
  switch (deviceApproval(policy, deviceHasUv)) {
    case "tap":
      return "ok";
    case "unavailable":
      return "uv_unavailable";
    case "user-verification":
      return proof === "verified" ? "ok" : "uv_required";
  }
}

async function digest(text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/**
 * The WebAuthn challenge of an approval: bound to the challenge, the single-use nonce of this
 * details fetch and the decision, so an assertion cannot be replayed for another sign-in, a
 * later fetch, or the other button. Base64url of 32 bytes.
 */
export function approvalChallenge(challengeId: string, nonce: string, decision: "accept" | "reject"): Promise<string> {
  return digest(`edge-mfa/uv-approve\n${challengeId}\n${nonce}\n${decision}`);
}

/** The WebAuthn challenge of the registration at activation: bound to the single-use activation token. */
export function registrationChallenge(tokenHash: string): Promise<string> {
  return digest(`edge-mfa/uv-register\n${tokenHash}`);
}
