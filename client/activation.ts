/**
 * Activation from the SMS link page (with the device's name and its WebAuthn platform
 * credential), and a device that waits to join the number's devices until it takes effect by
 * a signed claim.
 */
import { ACTIVATION_CODE_PATTERN } from "../core/contracts/activation-code";
import { APP_API_PATHS } from "../core/contracts/app-api-paths";
import { api, ApiError } from "./api";
import { serverForgotDevice } from "./app-routing";
import type { StoredDevice } from "./device-store";
import { showHome } from "./home";
import { activationFailureText, activationLinkFailureText } from "./outcomes";
import { cleanDeviceName, defaultDeviceName } from "./device-name";
import { subscribePush } from "./push";
import { signedDeviceUpdate } from "./signed-request";
import { device, forgetDevice, rememberDevice, startTimer, stopTimers, view } from "./state";
import { $, show, showError, showResult } from "./ui";
import { platformAuthenticatorAvailable, registerCredential } from "./user-verification";

const CLAIM_POLL_MS = 30_000;

/** A device that waits to take the number over at `pendingUntil`. */
export type PendingDevice = StoredDevice & { pendingUntil: number };

export function isPending(stored: StoredDevice): stored is PendingDevice {
  return !!stored.pendingUntil;
}

/**
 * The activate view for a token from the link page. The number shown is the one the server
 * has bound to the token (the fragment's number is only a lookup key), and a device already
 * stored in this browser is replaced only after an explicit choice.
 */
export async function showActivation(fragmentMsisdn: string, token: string): Promise<void> {
  let info: { msisdn: string; hasDevice: boolean };
  try {
    info = await api<{ msisdn: string; hasDevice: boolean }>(APP_API_PATHS.activationInfo, { msisdn: fragmentMsisdn, token });
  } catch (e) {
    history.replaceState(null, "", "/app/");
    return showResult("Activation link not valid", activationLinkFailureText(e));
  }
  $("activate-msisdn").textContent = info.msisdn;
  $("activate-has-device").hidden = !info.hasDevice;
  const replaceBox = $("activate-replace-box");
  const replace = $<HTMLInputElement>("activate-replace");
  const button = $<HTMLButtonElement>("activate-btn");
  replaceBox.hidden = !device;
  replace.checked = false;
  if (device) $("activate-stored").textContent = device.msisdn;
  button.disabled = !!device;
  replace.onchange = () => {
    button.disabled = !replace.checked;
  };
  button.onclick = () => void activate(info.msisdn, token);
  $<HTMLInputElement>("activate-name").value = defaultDeviceName(navigator.userAgent);
  // Told before activating: sign-ins that need biometrics or a screen lock cannot be approved here.
  $("activate-no-uv").hidden = await platformAuthenticatorAvailable();
  show("activate");
}

/** `POST /app/api/activate`: active at once with a seed, or (202) waiting to replace the number's device. */
type ActivateResponse =
  | { status?: undefined; deviceId: string; seed: string }
  | { status: "replacement_pending"; deviceId: string; effectiveAt: number; seed?: undefined };

async function activate(msisdn: string, token: string): Promise<void> {
  const button = $<HTMLButtonElement>("activate-btn");
  const code = $<HTMLInputElement>("activate-code").value.replace(/\s/g, "");
  if (!ACTIVATION_CODE_PATTERN.test(code)) return showError("Enter the 6-digit activation code from the SMS.");
  const name = cleanDeviceName($<HTMLInputElement>("activate-name").value);
  if (!name) return showError("Give this device a short name (up to 40 characters), such as “Anna’s tablet”.");
  if (device && !$<HTMLInputElement>("activate-replace").checked) return;
  button.disabled = true;
  showError(null);
  // The activation this browser held until now (the user ticked Replace): removed once the new one is in.
  const previous = device;
  try {
    // The device key: non-extractable, so it cannot leave this browser profile.
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
    // First, while the tap still counts as a gesture: the fingerprint / face / PIN credential.
    const registration = await registerCredential(msisdn, token);
    const subscription = await subscribePush();
    const r = await api<ActivateResponse>(APP_API_PATHS.activate, {
      msisdn,
      token,
      code,
      publicKey: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
      subscription,
      name,
      webauthn: registration.kind === "registered" ? registration.response : null,
    });
    const activated: StoredDevice = {
      msisdn,
      deviceId: r.deviceId,
      privateKey: keys.privateKey,
      seed: r.seed ?? "",
      activatedAt: Date.now(),
      name,
      ...(registration.kind === "registered" ? { uvCredentialId: registration.response.id } : {}),
      ...(r.status === "replacement_pending" ? { pendingUntil: r.effectiveAt } : {}),
    };
    await rememberDevice(activated);
    history.replaceState(null, "", "/app/");
    // Its key is gone from this browser now: remove it at the edge too, so no unusable device lingers on the number.
    if (previous) void api(APP_API_PATHS.device, await signedDeviceUpdate(previous, { remove: true })).catch(() => {});
    if (isPending(activated)) return waitToReplace(activated);
    const uvNote =
      registration.kind === "registered"
        ? " Where a service asks for it, you confirm with your fingerprint, face or device PIN."
        : " This device could not set up fingerprint, face or PIN confirmation, so services that require it cannot be approved here.";
    showResult(
      "Activated",
      (subscription
        ? "This device now gets sign-in requests as notifications. If a sign-in is waiting now, answer it on its SMS page; the next ones arrive here."
        : "Activated for offline codes. Notifications are off, so sign-in requests still come by SMS: tap Done, then “Turn on notifications” (if the browser blocked them, allow them in its site settings first).") +
        uvNote,
    );
  } catch (e) {
    button.disabled = false;
    showError(activationFailureText(e));
  }
}

/** This device waits to join the number's devices; it takes effect by a signed claim. */
export async function waitToReplace(pending: PendingDevice): Promise<void> {
  stopTimers();
  show("waiting");
  $("waiting-text").textContent =
    `Your number already has the app on another device. It was told and can refuse. If it does not, this device joins at ${new Date(pending.pendingUntil).toLocaleString()}. Until then sign-in requests go to your other devices or by SMS.`;
  await claim();
  startTimer(() => void claim(), CLAIM_POLL_MS);
}

/** Asked before the window ends too: a refusal (404 unknown_device) shows at once. */
async function claim(): Promise<void> {
  if (!device?.pendingUntil) return;
  try {
    const r = await api<{ seed: string }>(APP_API_PATHS.claim, await signedDeviceUpdate(device, { claim: true }));
    const { pendingUntil: _done, ...active } = device;
    const claimed = { ...active, seed: r.seed };
    await rememberDevice(claimed);
    stopTimers();
    showHome(claimed);
  } catch (e) {
    if (e instanceof ApiError && serverForgotDevice(e.status, e.body) && view === "waiting") {
      await forgetDevice();
      showResult("Not activated", "Another device of this number refused this one, or a newer activation replaced it.");
    }
  }
}
