/**
 * Activation started in the app (Mideye+: enter your number, the activation SMS arrives): the
 * "Not activated" screen with its number form, and the "Check your SMS" screen after asking.
 * The SMS carries the usual activation link and code, so the rest is activation.ts. The edge
 * answers the same for every number, so this screen never says whether an SMS really went out.
 */
import { APP_API_PATHS } from "../core/contracts/app-api-paths";
import { E164 } from "../core/contracts/relay";
import { api } from "./api";
import { activationRequestFailureText } from "./outcomes";
import { view } from "./state";
import { $, show, showError } from "./ui";

/** "Send again" waits this long (the edge caps activation SMS per number anyway). */
const RESEND_AFTER_MS = 60_000;
/** An activation link works this long (ACTIVATION_TTL_MS at the edge): so long the app says "check your SMS". */
const REQUEST_SHOWN_MS = 10 * 60_000;
const STORAGE_KEY = "edge-mfa-activation-request";

interface ActivationRequest {
  msisdn: string;
  at: number;
}

/** The number asked for lately (kept across reloads, so reopening the app shows "Check your SMS"). */
export function recentRequest(now = Date.now()): ActivationRequest | null {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null") as ActivationRequest | null;
    return stored && typeof stored.msisdn === "string" && now - stored.at < REQUEST_SHOWN_MS ? stored : null;
  } catch {
    return null;
  }
}

export function forgetRequest(): void {
  try {
    localStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage off: nothing kept */
  }
}

/** "Not activated": how to activate (the number form when the service offers it, or a sign-in link), and why, if the edge dropped this phone. */
export function showNotActivated(reason?: string): void {
  const notice = $("none-reason");
  notice.textContent = reason ?? "";
  notice.hidden = !reason;
  $("request-form").hidden = document.body.dataset.appActivation !== "on";
  show("none");
}

/** Spaces, dashes and brackets as people type them; a leading 00 as +. */
export function normaliseNumber(typed: string): string {
  const compact = typed.replace(/[\s\-().]/g, "");
  return compact.startsWith("00") ? `+${compact.slice(2)}` : compact;
}

export async function requestActivation(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const msisdn = normaliseNumber($<HTMLInputElement>("request-msisdn").value);
  if (!E164.test(msisdn)) {
    return showError("Type the number with + and the country code, for example +46701234567.");
  }
  await send(msisdn, $<HTMLButtonElement>("request-btn"));
}

export async function requestAgain(): Promise<void> {
  const last = recentRequest();
  if (last) await send(last.msisdn, $<HTMLButtonElement>("request-again"));
}

export function useAnotherNumber(): void {
  forgetRequest();
  showError(null);
  showNotActivated();
}

async function send(msisdn: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  showError(null);
  try {
    await api(APP_API_PATHS.activationRequest, { msisdn });
  } catch (e) {
    button.disabled = false;
    return showError(activationRequestFailureText(e));
  }
  const request = { msisdn, at: Date.now() };
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(request));
  } catch {
    /* storage off: the screen still shows, a reload forgets it */
  }
  button.disabled = false;
  showRequested(request);
}

/** "Check your SMS": what arrives, what to do with it, and Send again after a minute. */
export function showRequested(request: ActivationRequest): void {
  $("requested-msisdn").textContent = request.msisdn;
  const again = $<HTMLButtonElement>("request-again");
  const wait = request.at + RESEND_AFTER_MS - Date.now();
  again.disabled = wait > 0;
  if (wait > 0) {
    setTimeout(() => {
      if (view === "requested") again.disabled = false;
    }, wait);
  }
  show("requested");
}
