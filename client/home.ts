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
import { clearOtp, loadOtp, type StoredDevice, type StoredOtp } from "./device-store";
import { groupedCode, otpHomeText } from "./otp-push";
import type { DeviceListing } from "../core/contracts/app-api";
import { showNotActivated } from "./activation-request";
import { connectionNotice, forgottenDeviceText, type PendingResponse, pendingDisplay, pushHelp, type Replacement } from "./outcomes";
import { subscribePush } from "./push";
import { type DeviceUpdate, signedDeviceUpdate, signedRead } from "./signed-request";
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
  void loadOtp()
    .then((stored) => showLoginCode(stored ?? null))
    .catch(() => undefined);
  startTimer(() => {
    void renderTotp(seed);
    renderLoginCode();
  }, 1000);
  startTimer(() => void poll(), POLL_MS);
}

/** The login code last pushed to this device (a RADIUS login), while it is valid. */
let loginCode: StoredOtp | null = null;

/** Shows a pushed login code on the home screen (from the service worker, or kept since). */
export function showLoginCode(otp: StoredOtp | null): void {
  loginCode = otp;
  renderLoginCode();
}

function renderLoginCode(): void {
  const text = loginCode ? otpHomeText(loginCode, Date.now()) : null;
  $("login-code-box").hidden = text === null;
  if (!loginCode || text === null) {
    if (loginCode) void clearOtp().catch(() => undefined); // expired: not kept any longer
    loginCode = null;
    return;
  }
  $("login-code").textContent = groupedCode(loginCode.code);
  $("login-code-text").textContent = text;
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
    const pending = await api<PendingResponse>(APP_API_PATHS.pending, await signedRead(device, "pending"));
    showReplacement(pending.replacement);
    // A poll that was already on its way when the browser went offline must not hide the notice.
    setNotice(navigator.onLine ? null : connectionNotice(null, false));
    const canPush = "PushManager" in window && "Notification" in window;
    const permission = "Notification" in window ? Notification.permission : undefined;
    const display = pendingDisplay(pending, canPush, permission);
    $("push-status").textContent = display.pushStatus;
    $("push-btn").hidden = !display.offerPush;
    const help = pushHelp(pending.push, canPush, permission);
    $("push-help").textContent = help ?? "";
    $("push-help").hidden = help === null;
    if (display.challengeId) await openChallenge(display.challengeId);
  } catch (e) {
    if (e instanceof ApiError && serverForgotDevice(e.status, e.body)) {
      // The edge forgot this device (replaced by another phone, or removed): so do we, and say so.
      const msisdn = device.msisdn;
      await forgetDevice();
      showNotActivated(forgottenDeviceText(msisdn));
      return;
    }
    setNotice(connectionNotice(e, navigator.onLine));
  }
}

/** The home screen's notice of a connection problem (null hides it). */
function setNotice(text: string | null): void {
  const notice = $("connection-notice");
  notice.textContent = text ?? "";
  notice.hidden = text === null;
}

/** The browser went offline: say what still works, at once (the next poll would only fail). */
export function showOffline(): void {
  if (view === "home") setNotice(connectionNotice(null, false));
}

/** Another device asked to join this number's devices: say so, with a signed Refuse. */
/** The join on screen: "Allow now" names it, so a join that replaced it meanwhile is not the one let in. */
let shownReplacement: Replacement | undefined;

function showReplacement(replacement: Replacement | undefined): void {
  shownReplacement = replacement;
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
    const { devices } = await api<{ devices: DeviceListing[] }>(APP_API_PATHS.devices, await signedRead(device, "devices"));
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
  if (!device || !shownReplacement) return;
  try {
    await updateDevice(device, { approveReplacement: shownReplacement.requestedAt });
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
  if (!subscription) {
    const blocked = "Notification" in window && Notification.permission === "denied";
    return showError(
      blocked
        ? "Notifications are blocked for this site. Allow them in the browser's site settings, then reopen the app."
        : "Notifications could not be turned on. Try again, or keep using SMS and the one-time code.",
    );
  }
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
  showNotActivated("This phone was removed: sign-in requests come by SMS again. To use the app again, activate it below.");
}
