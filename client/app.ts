/**
 * The authenticator web app (Mideye+ equivalent): activation from an SMS link, push
 * challenges answered with a device-key signature, and offline codes.
 * Plain DOM code over the server-rendered shell in workers/pages/authenticator.tsx.
 */
import { signCompactJws } from "../core/jws-sign";
import { challengeResponseCode, CHALLENGE_PATTERN, seedFromBase32, TOTP_PERIOD, totpCode } from "../core/otp";
import { fromBase64url } from "../core/base64url";
import type { AnswerClaims, AnswerResponse, ApproverChoice, ChallengeDetails } from "../core/contracts/app-api";
import { APP_API_PATHS } from "../core/contracts/app-api-paths";
import { api, ApiError } from "./api";
import { serverForgotDevice } from "./app-routing";
import { clearDevice, loadDevice, saveDevice, type StoredDevice } from "./device-store";

const VIEWS = ["loading", "activate", "waiting", "none", "home", "challenge", "result"] as const;
type View = (typeof VIEWS)[number];
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const POLL_MS = 3000;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function show(view: View): void {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  current = view;
  if (view !== "home" && view !== "waiting") stopHomeTimers();
}

function showError(message: string | null): void {
  const el = $("error");
  el.textContent = message ?? "";
  el.hidden = message === null;
}

let current: View = "loading";
let device: StoredDevice | undefined;
/** The challenge on screen, so a repeated push or poll does not reload it. */
let openChallengeId: string | null = null;

// ---- service worker and push ---------------------------------------------------------------

async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });
  } catch {
    return null;
  }
}

/** A push subscription, or null when the browser or the user says no (the app still works). */
async function subscribePush(): Promise<PushSubscriptionJSON | null> {
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

// ---- activation ----------------------------------------------------------------------------

/**
 * The activate view for a token from the link page. The number shown is the one the server
 * has bound to the token (the fragment's number is only a lookup key), and a device already
 * stored in this browser is replaced only after an explicit choice.
 */
async function showActivation(fragmentMsisdn: string, token: string): Promise<void> {
  let info: { msisdn: string; hasDevice: boolean };
  try {
    info = await api<{ msisdn: string; hasDevice: boolean }>(APP_API_PATHS.activationInfo, { msisdn: fragmentMsisdn, token });
  } catch (e) {
    history.replaceState(null, "", "/app/");
    return showResult(
      "Activation link not valid",
      e instanceof ApiError && e.status === 403
        ? "This activation link was already used or has expired. Open a new sign-in SMS and try again."
        : "Could not check the activation link. Check your connection and reload.",
    );
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
  replace.onchange = () => (button.disabled = !replace.checked);
  button.onclick = () => void activate(info.msisdn, token);
  show("activate");
}

async function activate(msisdn: string, token: string): Promise<void> {
  const button = $<HTMLButtonElement>("activate-btn");
  const code = $<HTMLInputElement>("activate-code").value.replace(/\s/g, "");
  if (!/^\d{6}$/.test(code)) return showError("Enter the 6-digit activation code from the SMS.");
  if (device && !$<HTMLInputElement>("activate-replace").checked) return;
  button.disabled = true;
  showError(null);
  try {
    // The device key: non-extractable, so it cannot leave this browser profile.
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
    const subscription = await subscribePush();
    const r = await api<{ deviceId: string; seed?: string; status?: string; effectiveAt?: number }>(APP_API_PATHS.activate, {
      msisdn,
      token,
      code,
      publicKey: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
      subscription,
    });
    device = {
      msisdn,
      deviceId: r.deviceId,
      privateKey: keys.privateKey,
      seed: r.seed ?? "",
      activatedAt: Date.now(),
      ...(r.status === "replacement_pending" ? { pendingUntil: r.effectiveAt! } : {}),
    };
    await saveDevice(device);
    history.replaceState(null, "", "/app/");
    if (device.pendingUntil) return waiting();
    showResult(
      "Activated",
      subscription
        ? "This phone now gets sign-in requests as notifications. Go back to the sign-in page and answer it there."
        : "Activated for offline codes. Notifications are off, so sign-in requests still come by SMS.",
    );
  } catch (e) {
    button.disabled = false;
    const error = e instanceof ApiError ? e.body.error : undefined;
    showError(
      error === "wrong_code"
        ? "Wrong activation code. Check the SMS and try again."
        : e instanceof ApiError && e.status === 403
          ? "This activation link was already used or has expired. Open a new sign-in SMS and try again."
          : "Activation failed. Check your connection and try again.",
    );
  }
}

/** This phone waits to replace the number's device; it takes over by a signed claim. */
async function waiting(): Promise<void> {
  if (!device?.pendingUntil) return home();
  stopHomeTimers();
  show("waiting");
  $("waiting-text").textContent =
    `Your number already has another phone with this app. It was told and can refuse. If it does not, this phone takes over at ${new Date(device.pendingUntil).toLocaleString()}. Until then sign-in requests go to the other phone or by SMS.`;
  await claim();
  timers.push(window.setInterval(() => void claim(), POLL_MS * 10));
}

/** Asked before the window ends too: a refusal (404 unknown_device) shows at once. */
async function claim(): Promise<void> {
  if (!device?.pendingUntil) return;
  try {
    const jws = await signCompactJws(device.privateKey, { typ: "edge-mfa/device", iat: Math.floor(Date.now() / 1000), claim: true });
    const r = await api<{ seed: string }>(APP_API_PATHS.claim, { msisdn: device.msisdn, deviceId: device.deviceId, jws });
    const { pendingUntil: _done, ...active } = device;
    device = { ...active, seed: r.seed };
    await saveDevice(device);
    stopHomeTimers();
    home();
  } catch (e) {
    if (e instanceof ApiError && serverForgotDevice(e.status, e.body) && current === "waiting") {
      await forgetLocalDevice();
      showResult("Not activated", "The phone that had this number refused the change, or a newer activation replaced this one.");
    }
  }
}

async function forgetLocalDevice(): Promise<void> {
  await clearDevice();
  device = undefined;
  stopHomeTimers();
}

// ---- challenges ----------------------------------------------------------------------------

async function openChallenge(challengeId: string): Promise<void> {
  if (!device || !TOKEN.test(challengeId) || openChallengeId === challengeId) return;
  openChallengeId = challengeId;
  showError(null);
  let details: ChallengeDetails;
  try {
    details = await api<ChallengeDetails>(APP_API_PATHS.challenge, { msisdn: device.msisdn, deviceId: device.deviceId, challengeId });
  } catch (e) {
    openChallengeId = null;
    if (e instanceof ApiError && (e.status === 404 || e.status === 410)) {
      showResult("Request no longer valid", "This sign-in request was already answered or has expired.");
    } else showError("Could not load the sign-in request. Check your connection.");
    return;
  }
  $("ch-title").textContent = details.title;
  $("ch-text").textContent = details.text;
  const reject = $<HTMLButtonElement>("ch-reject");
  reject.textContent = details.buttonReject;
  reject.onclick = () => void answer(challengeId, { n: details.nonce, d: "reject" });
  if (details.step === "choose_approver" && details.approvers) {
    showApprovers(challengeId, details.approvers, details.nonce);
  } else {
    showAnswerButtons(challengeId, details);
  }
  show("challenge");
}

/** Accept (or, with number matching, the numbers as accept buttons) and Reject. */
function showAnswerButtons(challengeId: string, details: ChallengeDetails): void {
  const numbers = $("ch-numbers");
  const accept = $<HTMLButtonElement>("ch-accept");
  $("ch-approvers").hidden = true;
  const choiceBox = numbers.querySelector(".numbers")!;
  choiceBox.replaceChildren();
  if (details.choices) {
    // Number matching: the numbers are the accept buttons; only the right one counts.
    numbers.hidden = false;
    accept.hidden = true;
    for (const n of details.choices) {
      choiceBox.append(button(String(n), "number", () => void answer(challengeId, { n: details.nonce, d: "accept", m: n })));
    }
  } else {
    numbers.hidden = true;
    accept.hidden = false;
    accept.textContent = details.buttonAccept;
    accept.onclick = () => void answer(challengeId, { n: details.nonce, d: "accept" });
  }
}

/** Assisted Login, after the user's Accept: the approvers (names only) as buttons; Reject stays. */
function showApprovers(challengeId: string, approvers: ApproverChoice[], nonce: string): void {
  $("ch-numbers").hidden = true;
  $("ch-accept").hidden = true;
  const box = $("ch-approvers");
  box
    .querySelector(".approvers")!
    .replaceChildren(
      ...approvers.map((a) => button(a.name, "approver", () => void answer(challengeId, { n: nonce, d: "accept", a: a.id }))),
    );
  box.hidden = false;
  $<HTMLButtonElement>("ch-reject").onclick = () => void answer(challengeId, { n: nonce, d: "reject" });
}

function button(label: string, className: string, onclick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.onclick = onclick;
  return b;
}

async function answer(challengeId: string, claims: Omit<AnswerClaims, "typ" | "c">): Promise<void> {
  if (!device) return;
  for (const b of $("view-challenge").querySelectorAll("button")) b.disabled = true;
  let next = false;
  try {
    const jws = await signCompactJws(device.privateKey, { typ: "edge-mfa/answer", c: challengeId, ...claims });
    const r = await api<AnswerResponse>(APP_API_PATHS.answer, { msisdn: device.msisdn, deviceId: device.deviceId, jws });
    switch (r.status) {
      case "choose_approver":
        next = true; // same challenge, next step: pick who approves
        showApprovers(challengeId, r.approvers, r.nonce);
        break;
      case "asked":
        showResult("Approver asked", `We asked ${r.approverName} to approve your sign-in. You can close the app.`);
        break;
      default:
        showResult(r.numberMismatch ? "Wrong number" : r.status === "accepted" ? "Approved" : "Rejected", r.text);
    }
  } catch (e) {
    const result = e instanceof ApiError ? e.body.result : undefined;
    showResult(
      "Not counted",
      result === "invalid_approver"
        ? "That approver could not be asked, so the sign-in was stopped. Start the sign-in again."
        : e instanceof ApiError && e.status === 410
          ? "This request was already answered or has expired."
          : "The answer did not go through.",
    );
  } finally {
    for (const b of $("view-challenge").querySelectorAll("button")) b.disabled = false;
    if (!next) {
      openChallengeId = null;
      history.replaceState(null, "", "/app/");
    }
  }
}

function showResult(title: string, text: string): void {
  $("result-title").textContent = title;
  $("result-text").textContent = text;
  show("result");
}

// ---- home: offline codes and waiting for requests ------------------------------------------

let timers: number[] = [];
function stopHomeTimers(): void {
  for (const t of timers) clearInterval(t);
  timers = [];
}

async function renderTotp(seed: Uint8Array): Promise<void> {
  const now = Date.now();
  const code = await totpCode(seed, now);
  $("totp-code").textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
  const left = TOTP_PERIOD - (Math.floor(now / 1000) % TOTP_PERIOD);
  $("totp-left").textContent = `${left} s`;
  $<HTMLElement>("totp-bar").style.width = `${(left / TOTP_PERIOD) * 100}%`;
}

/** Asks the edge for requests this device should see; covers pushes that never arrived. */
async function poll(): Promise<void> {
  if (!device || document.hidden || current !== "home") return;
  try {
    const r = await api<{ challenges: string[]; push: boolean; replacement?: { requestedAt: number; effectiveAt: number } }>(
      APP_API_PATHS.pending,
      {
        msisdn: device.msisdn,
        deviceId: device.deviceId,
      },
    );
    showReplacement(r.replacement);
    $("push-status").textContent = r.push
      ? "Notifications on: sign-in requests arrive here."
      : "Notifications off: sign-in requests come by SMS.";
    $("push-btn").hidden = r.push || !("PushManager" in window);
    if (r.challenges[0]) await openChallenge(r.challenges[0]);
  } catch (e) {
    if (e instanceof ApiError && serverForgotDevice(e.status, e.body)) {
      // The edge forgot this device (replaced by another phone, or removed): so do we.
      await forgetLocalDevice();
      show("none");
    }
  }
}

/** Another phone asked to take this number over: say so, with a signed Refuse. */
function showReplacement(r: { requestedAt: number; effectiveAt: number } | undefined): void {
  $("replacement-box").hidden = !r;
  if (!r) return;
  $("replacement-text").textContent =
    `Another phone asked to take over this number (${new Date(r.requestedAt).toLocaleString()}). It gets your sign-in requests from ${new Date(r.effectiveAt).toLocaleString()} unless you refuse. If that was not you, refuse.`;
}

async function refuseReplacement(): Promise<void> {
  if (!device) return;
  try {
    const jws = await signCompactJws(device.privateKey, {
      typ: "edge-mfa/device",
      iat: Math.floor(Date.now() / 1000),
      refuseReplacement: true,
    });
    await api(APP_API_PATHS.device, { msisdn: device.msisdn, deviceId: device.deviceId, jws });
    showReplacement(undefined);
    showError(null);
  } catch {
    showError("Could not refuse. Try again online.");
  }
}

function home(): void {
  if (!device) {
    show("none");
    return;
  }
  if (device.pendingUntil) {
    void waiting();
    return;
  }
  show("home");
  $("home-msisdn").textContent = device.msisdn;
  const seed = seedFromBase32(device.seed);
  void renderTotp(seed);
  void poll();
  timers.push(
    window.setInterval(() => void renderTotp(seed), 1000),
    window.setInterval(() => void poll(), POLL_MS),
  );
}

async function signChallenge(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  if (!device) return;
  const challenge = $<HTMLInputElement>("cr-input").value.trim();
  const out = $("cr-result");
  if (!CHALLENGE_PATTERN.test(challenge)) {
    out.textContent = "Enter the code shown on the sign-in screen (4-16 letters or digits).";
    return;
  }
  const code = await challengeResponseCode(seedFromBase32(device.seed), challenge);
  out.textContent = `Type this code: ${code.slice(0, 4)} ${code.slice(4)}`;
}

/** Turns notifications on later (needs a tap: browsers only ask for permission on a gesture). */
async function enablePush(): Promise<void> {
  if (!device) return;
  const subscription = await subscribePush();
  if (!subscription) return showError("Notifications are blocked. Allow them in the browser's site settings.");
  try {
    const jws = await signCompactJws(device.privateKey, { typ: "edge-mfa/device", iat: Math.floor(Date.now() / 1000), subscription });
    await api(APP_API_PATHS.device, { msisdn: device.msisdn, deviceId: device.deviceId, jws });
    showError(null);
    await poll();
  } catch {
    showError("Could not turn on notifications. Try again online.");
  }
}

async function removeDevice(): Promise<void> {
  if (!device || !confirm("Remove this phone? Sign-in requests will come by SMS again.")) return;
  try {
    const jws = await signCompactJws(device.privateKey, { typ: "edge-mfa/device", iat: Math.floor(Date.now() / 1000), remove: true });
    await api(APP_API_PATHS.device, { msisdn: device.msisdn, deviceId: device.deviceId, jws });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 403)) return showError("Could not remove the phone. Try again online.");
  }
  await forgetLocalDevice();
  show("none");
}

// ---- routing -------------------------------------------------------------------------------

async function route(): Promise<void> {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("activate");
  const msisdn = params.get("msisdn");
  if (token && msisdn && TOKEN.test(token)) return showActivation(msisdn, token);
  const c = params.get("c");
  if (device && c) return openChallenge(c);
  home();
}

async function main(): Promise<void> {
  void registerServiceWorker();
  navigator.serviceWorker?.addEventListener("message", (e: MessageEvent<{ type?: string; c?: string }>) => {
    if (e.data?.type === "challenge" && e.data.c) void openChallenge(e.data.c);
  });
  $("cr-form").addEventListener("submit", (e) => void signChallenge(e as SubmitEvent));
  $("remove-btn").addEventListener("click", () => void removeDevice());
  $("push-btn").addEventListener("click", () => void enablePush());
  $("refuse-btn").addEventListener("click", () => void refuseReplacement());
  $("result-home").addEventListener("click", () => home());
  window.addEventListener("hashchange", () => void route());
  document.addEventListener("visibilitychange", () => void poll());
  try {
    device = await loadDevice();
  } catch {
    device = undefined;
  }
  await route();
}

void main();
