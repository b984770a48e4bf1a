/**
 * A sign-in challenge on screen: its details, the answer buttons (Accept, or the numbers with
 * number matching), the approver pick of Assisted Login, and the answer signed with the device key.
 */
import { APP_API_PATHS } from "../core/contracts/app-api-paths";
import type { AnswerClaims, ApproverChoice, AnswerResponse, ChallengeDetails } from "../core/contracts/app-api";
import { isWellFormedToken } from "../core/tokens";
import { api, ApiError } from "./api";
import { answerFailureText, answerResult } from "./outcomes";
import { signedAnswer } from "./signed-request";
import { device, openChallengeId, setOpenChallenge } from "./state";
import { $, button, show, showError, showResult } from "./ui";

export async function openChallenge(challengeId: string): Promise<void> {
  if (!device || !isWellFormedToken(challengeId) || openChallengeId === challengeId) return;
  setOpenChallenge(challengeId);
  showError(null);
  let details: ChallengeDetails;
  try {
    details = await api<ChallengeDetails>(APP_API_PATHS.challenge, { msisdn: device.msisdn, deviceId: device.deviceId, challengeId });
  } catch (e) {
    setOpenChallenge(null);
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

/** The box inside a section of the page shell that holds generated buttons. */
function buttonBox(section: HTMLElement, selector: string): Element {
  const box = section.querySelector(selector);
  if (!box) throw new Error(`page shell has no ${selector} in #${section.id}`);
  return box;
}

/** Accept (or, with number matching, the numbers as accept buttons) and Reject. */
function showAnswerButtons(challengeId: string, details: ChallengeDetails): void {
  const numbers = $("ch-numbers");
  const accept = $<HTMLButtonElement>("ch-accept");
  $("ch-approvers").hidden = true;
  const choiceBox = buttonBox(numbers, ".numbers");
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
  buttonBox(box, ".approvers").replaceChildren(
    ...approvers.map((a) => button(a.name, "approver", () => void answer(challengeId, { n: nonce, d: "accept", a: a.id }))),
  );
  box.hidden = false;
  $<HTMLButtonElement>("ch-reject").onclick = () => void answer(challengeId, { n: nonce, d: "reject" });
}

function setAnswerButtonsDisabled(disabled: boolean): void {
  for (const b of $("view-challenge").querySelectorAll("button")) b.disabled = disabled;
}

async function answer(challengeId: string, claims: Omit<AnswerClaims, "typ" | "c">): Promise<void> {
  if (!device) return;
  setAnswerButtonsDisabled(true);
  let next = false;
  try {
    const r = await api<AnswerResponse>(APP_API_PATHS.answer, await signedAnswer(device, challengeId, claims));
    if (r.status === "choose_approver") {
      next = true; // same challenge, next step: pick who approves
      showApprovers(challengeId, r.approvers, r.nonce);
    } else {
      const result = answerResult(r);
      showResult(result.title, result.text);
    }
  } catch (e) {
    showResult("Not counted", answerFailureText(e));
  } finally {
    setAnswerButtonsDisabled(false);
    if (!next) {
      setOpenChallenge(null);
      history.replaceState(null, "", "/app/");
    }
  }
}
