/**
 * A sign-in challenge on screen: its details, the answer buttons (Accept, or the numbers with
 * number matching), the approver pick of Assisted Login, and the answer signed with the device key.
 */
import { APP_API_PATHS } from "../core/contracts/app-api-paths";
import type { AnswerClaims, ApproverChoice, AnswerResponse, ChallengeDetails } from "../core/contracts/app-api";
import { isWellFormedToken } from "../core/tokens";
import { api, ApiError } from "./api";
import { answerFailureText, answerResult, uvRefusalText } from "./outcomes";
import { signedAnswer, signedRead } from "./signed-request";
import { device, openChallengeId, setOpenChallenge } from "./state";
import { $, button, show, showError, showResult } from "./ui";
import { verifyUserForAccept } from "./user-verification";

type Approval = ChallengeDetails["approval"];

export async function openChallenge(challengeId: string): Promise<void> {
  if (!device || !isWellFormedToken(challengeId) || openChallengeId === challengeId) return;
  setOpenChallenge(challengeId);
  showError(null);
  let details: ChallengeDetails;
  try {
    details = await api<ChallengeDetails>(APP_API_PATHS.challenge, {
      ...(await signedRead(device, "challenge", challengeId)),
      challengeId,
    });
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
  // An edge of an earlier release sends no approval: a tap.
  const approval: Approval = details.approval ?? "tap";
  showApprovalNote(approval);
  if (details.step === "choose_approver" && details.approvers) {
    showApprovers(challengeId, details.approvers, details.nonce, approval);
  } else {
    showAnswerButtons(challengeId, details, approval);
  }
  show("challenge");
}

/** Says what an Accept takes here: a fingerprint, face or PIN, or (without one) that it cannot be approved here. */
function showApprovalNote(approval: Approval): void {
  const note = $("ch-uv-note");
  note.hidden = approval === "tap";
  note.textContent =
    approval === "unavailable"
      ? "This service needs fingerprint, face or PIN confirmation, which this device does not have. Approve on another device, or Reject."
      : "You will confirm with your fingerprint, face or device PIN.";
}

/** The box inside a section of the page shell that holds generated buttons. */
function buttonBox(section: HTMLElement, selector: string): Element {
  const box = section.querySelector(selector);
  if (!box) throw new Error(`page shell has no ${selector} in #${section.id}`);
  return box;
}

/** Accept (or, with number matching, the numbers as accept buttons) and Reject; only Reject where Accept cannot count. */
function showAnswerButtons(challengeId: string, details: ChallengeDetails, approval: Approval): void {
  const numbers = $("ch-numbers");
  const accept = $<HTMLButtonElement>("ch-accept");
  $("ch-approvers").hidden = true;
  const choiceBox = buttonBox(numbers, ".numbers");
  choiceBox.replaceChildren();
  if (approval === "unavailable") {
    numbers.hidden = true;
    accept.hidden = true;
  } else if (details.choices) {
    // Number matching: the numbers are the accept buttons; only the right one counts.
    numbers.hidden = false;
    accept.hidden = true;
    for (const n of details.choices) {
      choiceBox.append(button(String(n), "number", () => void answer(challengeId, { n: details.nonce, d: "accept", m: n }, approval)));
    }
  } else {
    numbers.hidden = true;
    accept.hidden = false;
    accept.textContent = details.buttonAccept;
    accept.onclick = () => void answer(challengeId, { n: details.nonce, d: "accept" }, approval);
  }
}

/** Assisted Login, after the user's Accept: the approvers (names only) as buttons; Reject stays. */
function showApprovers(challengeId: string, approvers: ApproverChoice[], nonce: string, approval: Approval): void {
  $("ch-numbers").hidden = true;
  $("ch-accept").hidden = true;
  const box = $("ch-approvers");
  buttonBox(box, ".approvers").replaceChildren(
    ...approvers.map((a) => button(a.name, "approver", () => void answer(challengeId, { n: nonce, d: "accept", a: a.id }, approval))),
  );
  box.hidden = false;
  $<HTMLButtonElement>("ch-reject").onclick = () => void answer(challengeId, { n: nonce, d: "reject" });
}

function setAnswerButtonsDisabled(disabled: boolean): void {
  for (const b of $("view-challenge").querySelectorAll("button")) b.disabled = disabled;
}

async function answer(challengeId: string, claims: Omit<AnswerClaims, "typ" | "c">, approval: Approval = "tap"): Promise<void> {
  if (!device) return;
  setAnswerButtonsDisabled(true);
  let next = false;
  try {
    let webauthn: unknown;
    if (claims.d === "accept" && approval === "user-verification") {
      try {
        webauthn = await verifyUserForAccept(device.uvCredentialId ?? "", challengeId, claims.n);
      } catch {
        // Cancelled or not recognised: nothing was sent, the request stays open here.
        next = true;
        showError("Not confirmed, so nothing was approved. Tap again to confirm with your fingerprint, face or PIN.");
        return;
      }
    }
    const signed = await signedAnswer(device, challengeId, claims);
    const r = await api<AnswerResponse>(APP_API_PATHS.answer, webauthn ? { ...signed, webauthn } : signed);
    if (r.status === "choose_approver") {
      next = true; // same challenge, next step: pick who approves
      showApprovers(challengeId, r.approvers, r.nonce, approval);
    } else {
      const result = answerResult(r);
      showResult(result.title, result.text);
    }
  } catch (e) {
    const uv = uvRefusalText(e);
    if (uv) {
      // Refused before it counted: the request is still open; load it again (a fresh nonce).
      next = true;
      setOpenChallenge(null);
      await openChallenge(challengeId);
      showError(uv);
      return;
    }
    showResult("Not counted", answerFailureText(e));
  } finally {
    setAnswerButtonsDisabled(false);
    if (!next) {
      setOpenChallenge(null);
      history.replaceState(null, "", "/app/");
    }
  }
}
