import { describe, expect, it } from "vitest";
import { acceptOffered, judgeAnswer, linkPageMatch, withoutApp } from "../../../core/match-policy";

const caller = { matchNumber: 42, choices: [17, 42, 88], callerShowsNumber: true };
const service = { matchNumber: 42, choices: [17, 42, 88], callerShowsNumber: false };
const off = { matchNumber: null, choices: null, callerShowsNumber: false };

describe("number matching on the SMS link page", () => {
  it("offers the three numbers as Accept buttons when the caller shows the number", () => {
    expect(linkPageMatch(caller)).toEqual({ kind: "pick", choices: [17, 42, 88] });
    expect(acceptOffered(linkPageMatch(caller))).toBe(true);
  });

  it("shows a service-picked number and offers no Accept", () => {
    expect(linkPageMatch(service)).toEqual({ kind: "show", number: 42 });
    expect(acceptOffered(linkPageMatch(service))).toBe(false);
  });

  it("offers plain Accept/Reject without number matching", () => {
    expect(linkPageMatch(off)).toEqual({ kind: "none" });
    expect(acceptOffered(linkPageMatch(off))).toBe(true);
  });
});

describe("whether an answer counts", () => {
  it("an Accept counts only with the right pick", () => {
    expect(judgeAnswer(42, "accept", 42)).toEqual({ status: "accepted", mismatch: false });
    expect(judgeAnswer(42, "accept", 17)).toEqual({ status: "rejected", mismatch: true });
    expect(judgeAnswer(42, "accept", undefined)).toEqual({ status: "rejected", mismatch: true });
  });

  it("on a channel that offers no Accept even the right number does not count", () => {
    expect(judgeAnswer(42, "accept", 42, false)).toEqual({ status: "rejected", mismatch: true });
  });

  it("a Reject is a rejection; without matching an Accept counts", () => {
    expect(judgeAnswer(42, "reject", undefined)).toEqual({ status: "rejected", mismatch: false });
    expect(judgeAnswer(null, "accept", undefined)).toEqual({ status: "accepted", mismatch: false });
    expect(judgeAnswer(null, "accept", 13)).toEqual({ status: "accepted", mismatch: false });
  });
});

describe("when no app can be asked", () => {
  it("a service-picked number is dropped (plain SMS session); a caller-shown one stays", () => {
    expect(withoutApp(service)).toEqual(off);
    expect(withoutApp(caller)).toEqual(caller);
    expect(withoutApp(off)).toEqual(off);
  });
});

describe("a link page that leaves the Accept to the app (user verification)", () => {
  it("offers Reject alone, except that a service-picked number is still shown; any Accept there rejects", () => {
    const none = { matchNumber: null, choices: null, callerShowsNumber: false };
    const caller = { matchNumber: 42, choices: [17, 42, 88], callerShowsNumber: true };
    const service = { matchNumber: 42, choices: [17, 42, 88], callerShowsNumber: false };
    expect(linkPageMatch(none, true)).toEqual({ kind: "in_app" });
    expect(linkPageMatch(caller, true)).toEqual({ kind: "in_app" });
    expect(linkPageMatch(service, true)).toEqual({ kind: "show", number: 42 });
    expect(acceptOffered({ kind: "in_app" })).toBe(false);
    expect(judgeAnswer(null, "accept", undefined, false)).toEqual({ status: "rejected", mismatch: true });
    expect(judgeAnswer(42, "accept", 42, false)).toEqual({ status: "rejected", mismatch: true });
    expect(judgeAnswer(null, "reject", undefined, false)).toEqual({ status: "rejected", mismatch: false });
  });
});
