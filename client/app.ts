/**
 * The authenticator web app (Mideye+ equivalent): activation from an SMS link, push
 * challenges answered with a device-key signature, and offline codes.
 * Plain DOM code over the server-rendered shell in workers/pages/authenticator.tsx.
 * This entry wires the page's buttons and events and routes the URL fragment to a screen;
 * each screen's flow is in its own module.
 */
import { isPending, showActivation, waitToReplace } from "./activation";
import { routeFromHash } from "./app-routing";
import { openChallenge } from "./challenge";
import { loadDevice } from "./device-store";
import { approveReplacement, enablePush, poll, refuseReplacement, removeDevice, showHome, signChallenge } from "./home";
import { onChallengePushed, registerServiceWorker } from "./push";
import { device, setLoadedDevice } from "./state";
import { $, show } from "./ui";

/** The screen for the stored device: none, waiting to take the number over, or home. */
function home(): void {
  if (!device) {
    show("none");
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
  if (target.kind === "activate") return showActivation(target.msisdn, target.token);
  if (device && target.kind === "challenge") return openChallenge(target.challengeId);
  home();
}

async function main(): Promise<void> {
  void registerServiceWorker();
  onChallengePushed((challengeId) => void openChallenge(challengeId));
  $("cr-form").addEventListener("submit", (e) => void signChallenge(e as SubmitEvent));
  $("remove-btn").addEventListener("click", () => void removeDevice());
  $("push-btn").addEventListener("click", () => void enablePush());
  $("refuse-btn").addEventListener("click", () => void refuseReplacement());
  $("approve-join-btn").addEventListener("click", () => void approveReplacement());
  $("result-home").addEventListener("click", () => home());
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
