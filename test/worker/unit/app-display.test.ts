import { describe, expect, it } from "vitest";
import { responseCodeText, totpDisplay } from "../../../client/code-display";

describe("authenticator app code display", () => {
  it("shows the TOTP code in two groups of three with the seconds left in its 30 s step", () => {
    const stepStart = 1_700_000_010_000; // a multiple of 30 s
    expect(totpDisplay("123456", stepStart)).toEqual({ code: "123 456", secondsLeft: "30 s", barWidth: "100%" });
    expect(totpDisplay("000042", stepStart + 15_000)).toEqual({ code: "000 042", secondsLeft: "15 s", barWidth: "50%" });
    expect(totpDisplay("987654", stepStart + 29_999)).toEqual({ code: "987 654", secondsLeft: "1 s", barWidth: `${(1 / 30) * 100}%` });
  });

  it("shows the challenge-response code in two groups of four", () => {
    expect(responseCodeText("12345678")).toBe("Type this code: 1234 5678");
  });
});
