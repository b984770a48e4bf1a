// The device name the app proposes at activation, and what it accepts as typed.
import { describe, expect, it } from "vitest";
import { cleanDeviceName, defaultDeviceName } from "../../../client/device-name";

describe("device names", () => {
  it("proposes browser and platform from the user agent", () => {
    const android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
    const ipad =
      "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0";
    expect(defaultDeviceName(android)).toBe("Chrome on Android");
    expect(defaultDeviceName(ipad)).toBe("Safari on iPad");
    expect(defaultDeviceName(firefox)).toBe("Firefox on Windows");
    expect(defaultDeviceName("")).toBe("My device");
  });

  it("takes a typed name trimmed; empty, too long or with control characters is refused", () => {
    expect(cleanDeviceName("  Anna's tablet ")).toBe("Anna's tablet");
    expect(cleanDeviceName("   ")).toBeNull();
    expect(cleanDeviceName("x".repeat(41))).toBeNull();
    expect(cleanDeviceName("tab\u0000let")).toBeNull();
    expect(cleanDeviceName("a\u202Eb")).toBeNull(); // a bidi override could disguise the name
  });
});
