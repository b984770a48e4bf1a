import { describe, expect, it } from "vitest";
import { maskMsisdn, normalizeMsisdn } from "../../../core/msisdn";

describe("normalizeMsisdn", () => {
  it("accepts E.164", () => {
    expect(normalizeMsisdn("+46701234567")).toBe("+46701234567");
  });
  it("treats an unencoded '+' (decoded as space) and the 00 prefix as '+'", () => {
    expect(normalizeMsisdn(" 46701234567")).toBe("+46701234567");
    expect(normalizeMsisdn("0046701234567")).toBe("+46701234567");
  });
  it.each(["46701234567", "+0701234567", "+46 70 123 45 67", "+4670123456789012", "+12345", "", "+46701234567\n", "070-1234567"])(
    "rejects %j",
    (v) => expect(normalizeMsisdn(v)).toBeNull(),
  );
});

describe("maskMsisdn", () => {
  it("keeps only prefix and last two digits", () => {
    expect(maskMsisdn("+46701234567")).toBe("+467******67");
    expect(maskMsisdn("+46701234567")).not.toContain("0123");
  });
});
