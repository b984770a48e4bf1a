/**
 * The authenticator web app (Mideye+ equivalent): activation from an SMS link, push
 * challenges answered with a device-key signature, and offline codes.
 * Plain DOM code over the server-rendered shell in workers/pages/authenticator.tsx.
 * This entry wires the page's buttons and events and routes the URL fragment to a screen;
 * each screen's flow is in its own module.
 */
import { isPending, showActivation, waitToReplace } from "./activation";
import {
  forgetRequest,
  recentRequest,
  requestActivation,
  requestAgain,
  showNotActivated,
  showRequested,
  useAnotherNumber,
} from "./activation-request";
import { routeFromHash } from "./app-routing";
import { openChallenge } from "./challenge";
import { loadDevice } from "./device-store";
import {
  approveReplacement,
  enablePush,
  poll,
  refuseReplacement,
  removeDevice,
  showHome,
  showLoginCode,
  showOffline,
  signChallenge,
} from "./home";
import { onChallengePushed, onOtpPushed, registerServiceWorker } from "./push";
import { device, setLoadedDevice } from "./state";
import { $ } from "./ui";

/** The screen for the stored device: none (or an activation SMS asked for), waiting to take the number over, or home. */
function home(): void {
  if (!device) {
    const request = recentRequest();
    if (request) showRequested(request);
    else showNotActivated();
    return;
  }
  if (isPending(device)) {
    void waitToReplace(device);
    return;
  }
  showHome(device);
}

async function route(): Promise<void> {
  const target = routeFromHash(location.hash);
  if (target.kind === "activate") {
    forgetRequest(); // the SMS asked for has arrived
    return showActivation(target.msisdn, target.token);
  }
  if (device && target.kind === "challenge") return openChallenge(target.challengeId);
  home();
}

async function main(): Promise<void> {
  void registerServiceWorker();
  onChallengePushed((challengeId) => void openChallenge(challengeId));
  onOtpPushed((otp) => showLoginCode(otp));
  $("cr-form").addEventListener("submit", (e) => void signChallenge(e as SubmitEvent));
  $("remove-btn").addEventListener("click", () => void removeDevice());
  $("push-btn").addEventListener("click", () => void enablePush());
  $("refuse-btn").addEventListener("click", () => void refuseReplacement());
  $("approve-join-btn").addEventListener("click", () => void approveReplacement());
  $("result-home").addEventListener("click", () => home());
  $("request-form").addEventListener("submit", (e) => void requestActivation(e as SubmitEvent));
  $("request-again").addEventListener("click", () => void requestAgain());
  $("request-other").addEventListener("click", () => useAnotherNumber());
  window.addEventListener("offline", () => showOffline());
  window.addEventListener("online", () => void poll());
  window.addEventListener("hashchange", () => void route());
  document.addEventListener("visibilitychange", () => void poll());
  try {
    setLoadedDevice(await loadDevice());
  } catch {
    setLoadedDevice(undefined);
  }
  await route();
}

void main();
