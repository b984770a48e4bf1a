/// <reference lib="webworker" />
/**
 * Service worker of the authenticator app: shows a notification for each push (a sign-in push
 * carries only a challenge id; details are fetched by the app, signed; a login-code push
 * carries the RADIUS code itself, shown at once, kept for the app and acknowledged, signed, so
 * the SMS does not follow), opens the app on a tap, and keeps the app shell cached so offline
 * codes work without a network.
 */
declare const self: ServiceWorkerGlobalScope;
declare const __BUILD_ID__: string;
import { isWellFormedToken } from "../core/tokens";
import { APP_API_BASE, APP_API_PATHS } from "../core/contracts/app-api-paths";
import { APP_PATH, isAppUrl } from "./app-routing";
import { loadDevice, saveOtp } from "./device-store";
import { type OtpNotice, otpNotification, parseOtpPush } from "./otp-push";
import { signedDeviceUpdate } from "./signed-request";

const CACHE = `edge-mfa-app-${__BUILD_ID__}`;
const SHELL = ["/app/", "/app/app.js", "/assets/app.css", "/app/app.css", "/app/icon.svg", "/app/manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("edge-mfa-app-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Shell: network first (always fresh when online), cache when offline. The API is never cached.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.pathname === "/app" ? "/app/" : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith(fetch(event.request).catch(async () => (await caches.match(path)) ?? Response.error()));
});

self.addEventListener("push", (event) => {
  let challengeId: string | null = null;
  let replacement = false;
  let otp: OtpNotice | null = null;
  try {
    const data = event.data?.json() as { c?: unknown; r?: unknown } | undefined;
    if (typeof data?.c === "string" && isWellFormedToken(data.c)) challengeId = data.c;
    replacement = data?.r === "replacement";
    otp = parseOtpPush(data, Date.now());
  } catch {
    /* not ours */
  }
  if (otp) {
    event.waitUntil(showOtp(otp));
    return;
  }
  if (replacement) {
    // Another device asked to join this number's devices: the app (home screen) offers Refuse.
    event.waitUntil(
      self.registration.showNotification("A new device wants to join", {
        body: "It could approve your sign-ins. If that was not you, open the app and tap Refuse.",
        tag: "replacement",
        icon: "/app/icon.svg",
        requireInteraction: true,
      }),
    );
    return;
  }
  if (!challengeId) return;
  event.waitUntil(
    (async () => {
      // An open app takes it straight away; the notification is still shown (userVisibleOnly).
      for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage({ type: "challenge", c: challengeId });
      await self.registration.showNotification("Sign-in request", {
        body: "Tap to review and approve or reject.",
        tag: challengeId,
        data: { c: challengeId },
        icon: "/app/icon.svg",
        requireInteraction: true,
      });
    })(),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const c = (event.notification.data as { c?: string } | null)?.c;
  const challenge = c && isWellFormedToken(c) ? c : null;
  const url = challenge ? `${APP_PATH}#c=${challenge}` : APP_PATH;
  event.waitUntil(
    (async () => {
      // Only a window showing the app itself, never another same-origin page such as /m/….
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const app = windows.find((w) => isAppUrl(w.url, self.location.origin));
      if (app) {
        if (challenge) app.postMessage({ type: "challenge", c: challenge });
        return void (await app.focus());
      }
      await self.clients.openWindow(url);
    })(),
  );
});

/**
 * A login code for a RADIUS login: shown in a notification, kept for the app's home screen
 * until it expires, handed to an open app, and acknowledged to the edge (signed with the
 * device key) so the SMS with the same code is not sent. Without a network the acknowledgement
 * fails and the SMS follows: harmless, it is the same code.
 */
async function showOtp(otp: OtpNotice): Promise<void> {
  const { title, body } = otpNotification(otp, Date.now());
  await self.registration.showNotification(title, { body, tag: `otp-${otp.challengeId}`, icon: "/app/icon.svg", requireInteraction: true });
  await saveOtp(otp).catch(() => undefined);
  for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage({ type: "otp", ...otp });
  try {
    const device = await loadDevice();
    if (!device || device.pendingUntil) return;
    const body = await signedDeviceUpdate(device, { otpSeen: otp.challengeId });
    await fetch(`${APP_API_BASE}${APP_API_PATHS.device}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    /* the SMS follows after the grace period */
  }
}
