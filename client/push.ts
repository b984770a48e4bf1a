/** The service worker and the push subscription. */
import { fromBase64url } from "../core/base64url";

export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });
  } catch {
    return null;
  }
}

/** A push subscription, or null when the browser or the user says no (the app still works). */
export async function subscribePush(): Promise<PushSubscriptionJSON | null> {
  try {
    if (!("PushManager" in window) || !("Notification" in window)) return null;
    if ((await Notification.requestPermission()) !== "granted") return null;
    const reg = await Promise.race([
      navigator.serviceWorker.ready,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("service worker not ready")), 10_000)),
    ]);
    const vapid = document.body.dataset.vapid;
    if (!vapid) return null;
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64url(vapid) });
    return sub.toJSON();
  } catch (e) {
    console.warn("push subscription failed", e);
    return null;
  }
}

/** Push messages from the service worker that name a challenge to open. */
export function onChallengePushed(open: (challengeId: string) => void): void {
  navigator.serviceWorker?.addEventListener("message", (e: MessageEvent<{ type?: string; c?: string }>) => {
    if (e.data?.type === "challenge" && e.data.c) open(e.data.c);
  });
}

/** Login codes the service worker got by push while the app is open (sw.ts showOtp). */
export function onOtpPushed(show: (otp: { challengeId: string; code: string; expiresAt: number }) => void): void {
  navigator.serviceWorker?.addEventListener("message", (e: MessageEvent<Record<string, unknown>>) => {
    const { type, challengeId, code, expiresAt } = e.data ?? {};
    if (type === "otp" && typeof challengeId === "string" && typeof code === "string" && typeof expiresAt === "number")
      show({ challengeId, code, expiresAt });
  });
}
