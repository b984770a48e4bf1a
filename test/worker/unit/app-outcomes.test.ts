import { describe, expect, it } from "vitest";
import { ApiError } from "../../../client/api";
import {
  activationFailureText,
  activationLinkFailureText,
  answerFailureText,
  answerResult,
  pendingDisplay,
} from "../../../client/outcomes";

const CHALLENGE = "A".repeat(43);

describe("authenticator app: what the edge's answers mean on screen", () => {
  it("a poll opens the first pending challenge and offers push only where it is off and the browser can push", () => {
    expect(pendingDisplay({ challenges: [CHALLENGE, "B".repeat(43)], push: true }, true)).toEqual({
      pushStatus: "Notifications on: sign-in requests arrive here.",
      offerPush: false,
      challengeId: CHALLENGE,
    });
    expect(pendingDisplay({ challenges: [], push: false }, true)).toEqual({
      pushStatus: "Notifications off: sign-in requests come by SMS.",
      offerPush: true,
      challengeId: undefined,
    });
    expect(pendingDisplay({ challenges: [], push: false }, false).offerPush).toBe(false);
  });

  it("a final answer's result screen says what happened", () => {
    expect(answerResult({ status: "accepted", text: "Signed in.", numberMismatch: false })).toEqual({
      title: "Approved",
      text: "Signed in.",
    });
    expect(answerResult({ status: "rejected", text: "Denied.", numberMismatch: false }).title).toBe("Rejected");
    expect(answerResult({ status: "rejected", text: "Denied.", numberMismatch: true }).title).toBe("Wrong number");
    expect(answerResult({ status: "asked", approverName: "Alice" })).toEqual({
      title: "Approver asked",
      text: "We asked Alice to approve your sign-in. You can close the app.",
    });
  });

  it("an answer that did not count says why", () => {
    expect(answerFailureText(new ApiError(400, { result: "invalid_approver" }))).toMatch(/approver could not be asked/);
    expect(answerFailureText(new ApiError(410, {}))).toBe("This request was already answered or has expired.");
    expect(answerFailureText(new ApiError(500, {}))).toBe("The answer did not go through.");
    expect(answerFailureText(new TypeError("Failed to fetch"))).toBe("The answer did not go through.");
  });

  it("an activation that failed tells a wrong code from a used link and from a network failure", () => {
    expect(activationFailureText(new ApiError(403, { error: "wrong_code" }))).toBe("Wrong activation code. Check the SMS and try again.");
    expect(activationFailureText(new ApiError(403, { error: "invalid_or_used_token" }))).toMatch(/already used or has expired/);
    expect(activationFailureText(new TypeError("Failed to fetch"))).toBe("Activation failed. Check your connection and try again.");
    expect(activationLinkFailureText(new ApiError(403, {}))).toMatch(/already used or has expired/);
    expect(activationLinkFailureText(new ApiError(503, {}))).toBe("Could not check the activation link. Check your connection and reload.");
  });
});
