import { describe, expect, it } from "vitest";
import { admit } from "../../../core/rate-limit";

const limits = { perMinute: 2, perHour: 3 };
const MIN = 60_000;

describe("admit (sliding window)", () => {
  it("admits up to perMinute within a minute, then refuses with the wait until the oldest ages out", () => {
    let h: number[] = [];
    const t = 10 * 3_600_000;
    let d = admit(h, limits, t);
    expect(d.allowed).toBe(true);
    d = admit((h = d.history), limits, t + 1000);
    expect(d.allowed).toBe(true);
    d = admit((h = d.history), limits, t + 2000);
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(MIN - 2000);
    expect(d.history).toEqual(h); // refusals are not recorded
  });

  it("applies the hourly limit across minutes", () => {
    const t = 10 * 3_600_000;
    let h = [t, t + 2 * MIN, t + 4 * MIN];
    const d = admit(h, limits, t + 10 * MIN);
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(3_600_000 - 10 * MIN);
    h = d.history;
    expect(admit(h, limits, t + 3_600_000 + 1).allowed).toBe(true);
  });

  it("forgets entries older than an hour", () => {
    const t = 10 * 3_600_000;
    const d = admit([t - 3_700_000, t - 3_650_000], limits, t);
    expect(d.allowed).toBe(true);
    expect(d.history).toEqual([t]);
  });
});
