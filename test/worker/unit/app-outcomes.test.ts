import { describe, expect, it } from "vitest";
import { ApiError, noteServerDate, serverNow } from "../../../client/api";
import {
  activationFailureText,
  activationLinkFailureText,
  activationRequestFailureText,
  answerFailureText,
  answerResult,
  connectionNotice,
  forgottenDeviceText,
  pendingDisplay,
  pushHelp,
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

  it("notifications that are off say how to turn them on: the button, the site settings when blocked, or why not", () => {
    expect(pushHelp(true, true, "granted")).toBeNull();
    expect(pushHelp(false, true, "default")).toMatch(/Tap “Turn on notifications”/);
    expect(pushHelp(false, true, "denied")).toMatch(/blocked for this site.*site settings.*allow notifications/);
    expect(pushHelp(false, false, undefined)).toMatch(/cannot show notifications.*Add to Home Screen/);
    // A blocked permission cannot be asked again: no button, only the way to the settings.
    expect(pendingDisplay({ challenges: [], push: false }, true, "denied").offerPush).toBe(false);
    expect(pendingDisplay({ challenges: [], push: false }, true, "default").offerPush).toBe(true);
  });

  it("a failed poll says whether the phone is offline or the service failed, and that the code still works", () => {
    expect(connectionNotice(new TypeError("Failed to fetch"), true)).toMatch(/^You are offline.*code below works offline/);
    expect(connectionNotice(new ApiError(503, {}), false)).toMatch(/^You are offline/);
    expect(connectionNotice(new ApiError(503, {}), true)).toMatch(/HTTP 503.*code below still works/);
    expect(connectionNotice(new ApiError(429, { error: "rate_limited" }), true)).toMatch(/Too many requests.*tries again/);
    // A read the edge refused as badly signed: most likely a clock far off.
    expect(connectionNotice(new ApiError(403, { error: "bad_signature" }), true)).toMatch(/date and time are set automatically/);
  });

  it("signs with the edge's time: a phone whose clock is off by an hour still signs an iat the edge takes", () => {
    const phone = Date.now();
    noteServerDate(new Date(phone + 3_600_000).toUTCString(), phone);
    expect(Math.abs(serverNow() - (Date.now() + 3_600_000))).toBeLessThan(2_000);
    noteServerDate(null); // no Date header: the last known offset stays
    expect(Math.abs(serverNow() - (Date.now() + 3_600_000))).toBeLessThan(2_000);
    noteServerDate(new Date().toUTCString());
    expect(Math.abs(serverNow() - Date.now())).toBeLessThan(2_000);
  });

  it("a phone the edge dropped, and a refused activation request, say what to do next", () => {
    expect(forgottenDeviceText("+46701234567")).toMatch(/no longer activated for \+46701234567.*activate it again/);
    expect(activationRequestFailureText(new ApiError(429, {}))).toMatch(/Wait a minute/);
    expect(activationRequestFailureText(new ApiError(404, { error: "not_enabled" }))).toMatch(/sign-in SMS.*Use the app on this phone/);
    expect(activationRequestFailureText(new ApiError(400, {}))).toMatch(/\+ and the country code/);
    expect(activationRequestFailureText(new TypeError("Failed to fetch"))).toMatch(/Check your connection/);
    expect(activationLinkFailureText(new ApiError(403, {}))).toMatch(/Ask for a new activation SMS in the app/);
  });
});
