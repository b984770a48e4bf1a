/**
 * The home screen of an active device: the offline code (TOTP) and challenge-response codes,
 * polling for requests a push missed, the notice of a device asking to join with its signed
 * Refuse, the number's devices by name, turning notifications on, and removing this device.
 */
import { APP_API_PATHS } from "../core/contracts/app-api-paths";
import { CHALLENGE_PATTERN, challengeResponseCode, seedFromBase32, totpCode } from "../core/otp";
import { api, ApiError } from "./api";
import { serverForgotDevice } from "./app-routing";
import { openChallenge } from "./challenge";
import { responseCodeText, totpDisplay } from "./code-display";
import type { StoredDevice } from "./device-store";
import type { DeviceListing } from "../core/contracts/app-api";
import { type PendingResponse, pendingDisplay, type Replacement } from "./outcomes";
import { subscribePush } from "./push";
import { type DeviceUpdate, signedDeviceUpdate } from "./signed-request";
import { device, forgetDevice, startTimer, view } from "./state";
import { $, show, showError } from "./ui";

const POLL_MS = 3000;

/** The home screen for an active device (not one waiting to replace another). */
export function showHome(active: StoredDevice): void {
  show("home");
  $("home-msisdn").textContent = active.msisdn;
  const seed = seedFromBase32(active.seed);
  void renderTotp(seed);
  void poll();
  void listDevices();
  startTimer(() => void renderTotp(seed), 1000);
  startTimer(() => void poll(), POLL_MS);
}

async function renderTotp(seed: Uint8Array): Promise<void> {
  const now = Date.now();
  const display = totpDisplay(await totpCode(seed, now), now);
  $("totp-code").textContent = display.code;
  $("totp-left").textContent = display.secondsLeft;
  $<HTMLElement>("totp-bar").style.width = display.barWidth;
}

/** Asks the edge for requests this device should see; covers pushes that never arrived. */
export async function poll(): Promise<void> {
  if (!device || document.hidden || view !== "home") return;
  try {
    const pending = await api<PendingResponse>(APP_API_PATHS.pending, { msisdn: device.msisdn, deviceId: device.deviceId });
    showReplacement(pending.replacement);
    const display = pendingDisplay(pending, "PushManager" in window);
    $("push-status").textContent = display.pushStatus;
    $("push-btn").hidden = !display.offerPush;
    if (display.challengeId) await openChallenge(display.challengeId);
  } catch (e) {
    if (e instanceof ApiError && serverForgotDevice(e.status, e.body)) {
      // The edge forgot this device (replaced by another phone, or removed): so do we.
      await forgetDevice();
      show("none");
    }
  }
}

/** Another device asked to join this number's devices: say so, with a signed Refuse. */
function showReplacement(replacement: Replacement | undefined): void {
  $("replacement-box").hidden = !replacement;
  if (!replacement) return;
  // Waiting out the window: both answers still possible. Allowed already: the new device joins when it claims.
  const waiting = replacement.effectiveAt > Date.now();
  $("refuse-btn").hidden = false;
  $("approve-join-btn").hidden = !waiting;
  const who = replacement.name ? `A device named “${replacement.name}”` : "Another device";
  $("replacement-text").textContent =
    `${who} asked to join your devices (${new Date(replacement.requestedAt).toLocaleString()}). It can approve your sign-ins from ${new Date(replacement.effectiveAt).toLocaleString()} unless you refuse. If that was not you, refuse.`;
}

/** The number's devices by name, this one marked. */
async function listDevices(): Promise<void> {
  if (!device) return;
  try {
    const { devices } = await api<{ devices: DeviceListing[] }>(APP_API_PATHS.devices, {
      msisdn: device.msisdn,
      deviceId: device.deviceId,
    });
    $("devices-list").replaceChildren(
      ...devices.map((d) => {
        const item = document.createElement("li");
        item.textContent = `${d.name}${d.self ? " (this device)" : ""}`;
        return item;
      }),
    );
  } catch {
    // Shown again at the next start; the rest of the screen does not depend on it.
  }
}

/** Sends a device update signed with the device key (`POST /app/api/device`). */
async function updateDevice(signer: StoredDevice, update: DeviceUpdate): Promise<void> {
  await api(APP_API_PATHS.device, await signedDeviceUpdate(signer, update));
}

/** The user added the new device themselves: it may join now, without the waiting period. */
export async function approveReplacement(): Promise<void> {
  if (!device) return;
  try {
    await updateDevice(device, { approveReplacement: true });
    $("replacement-text").textContent = "Allowed: the new device joins as soon as it checks in.";
    $("refuse-btn").hidden = true;
    $("approve-join-btn").hidden = true;
    showError(null);
  } catch {
    showError("Could not allow it. Try again online.");
  }
}

export async function refuseReplacement(): Promise<void> {
  if (!device) return;
  try {
    await updateDevice(device, { refuseReplacement: true });
    showReplacement(undefined);
    showError(null);
    void listDevices();
  } catch {
    showError("Could not refuse. Try again online.");
  }
}

export async function signChallenge(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  if (!device) return;
  const challenge = $<HTMLInputElement>("cr-input").value.trim();
  const out = $("cr-result");
  if (!CHALLENGE_PATTERN.test(challenge)) {
    out.textContent = "Enter the code shown on the sign-in screen (4-16 letters or digits).";
    return;
  }
  const code = await challengeResponseCode(seedFromBase32(device.seed), challenge);
  out.textContent = responseCodeText(code);
}

/** Turns notifications on later (needs a tap: browsers only ask for permission on a gesture). */
export async function enablePush(): Promise<void> {
  if (!device) return;
  const subscription = await subscribePush();
  if (!subscription) return showError("Notifications are blocked. Allow them in the browser's site settings.");
  try {
    await updateDevice(device, { subscription });
    showError(null);
    await poll();
  } catch {
    showError("Could not turn on notifications. Try again online.");
  }
}

export async function removeDevice(): Promise<void> {
  if (!device || !confirm("Remove this device? It stops getting sign-in requests; your other devices (if any) keep working.")) return;
  try {
    await updateDevice(device, { remove: true });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 403)) return showError("Could not remove this device. Try again online.");
  }
  await forgetDevice();
  show("none");
}
