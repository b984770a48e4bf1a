import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../../../workers/config/schema";
import { composeSms, resolveTexts } from "../../../workers/domain/authenticate";
import { ENDPOINT_LEASES_PER_SHARD, endpointShards, pickShards, shardCapacity } from "../../../workers/domain/overload";
import { AuthQuerySchema } from "../../../core/contracts/magic-link";

describe("AuthQuerySchema", () => {
  it("parses every Mideye parameter", () => {
    const q = AuthQuerySchema.parse({
      msisdn: "+46701234567",
      "sms-text": "Login to MyApp",
      "touch-timeout": "60",
      "authentication-text": "Sign in to MyApp?",
      "touch-accept-text": "Welcome",
      "touch-reject-text": "Denied",
      "button-accept-text": "Yes",
      "button-reject-text": "No",
      "title-text": "MyApp Login",
      "unknown-extra": "ignored",
    });
    expect(q["touch-timeout"]).toBe(60);
    expect(q["title-text"]).toBe("MyApp Login");
    expect(q).not.toHaveProperty("unknown-extra");
  });
  it.each([["14"], ["301"], ["30.5"], ["abc"], [""], ["-20"]])("rejects touch-timeout %j", (t) => {
    expect(AuthQuerySchema.safeParse({ msisdn: "+46701234567", "touch-timeout": t }).success).toBe(false);
  });
  it("accepts the 15 and 300 bounds", () => {
    expect(AuthQuerySchema.parse({ msisdn: "+46701234567", "touch-timeout": "15" })["touch-timeout"]).toBe(15);
    expect(AuthQuerySchema.parse({ msisdn: "+46701234567", "touch-timeout": "300" })["touch-timeout"]).toBe(300);
  });
  it("rejects oversized texts and control characters, allows unicode and newlines", () => {
    const base = { msisdn: "+46701234567" };
    expect(AuthQuerySchema.safeParse({ ...base, "title-text": "x".repeat(101) }).success).toBe(false);
    expect(AuthQuerySchema.safeParse({ ...base, "title-text": "bad\u0000" }).success).toBe(false);
    expect(AuthQuerySchema.parse({ ...base, "authentication-text": "Logga in på Ärendet 👍\nRad två" })).toBeTruthy();
  });
  it("requires msisdn", () => {
    expect(AuthQuerySchema.safeParse({}).success).toBe(false);
  });
});

describe("texts and SMS", () => {
  const endpoint = ConfigSchema.parse({ endpoints: [{ name: "e", texts: { title: "Endpoint title", buttonAccept: "OK" } }] }).endpoints[0]!;
  it("request texts beat endpoint texts, which beat defaults", () => {
    const q = AuthQuerySchema.parse({ msisdn: "+46701234567", "title-text": "Request title" });
    const t = resolveTexts(endpoint, q);
    expect(t.title).toBe("Request title");
    expect(t.buttonAccept).toBe("OK");
    expect(t.buttonReject).toBe("Reject");
  });
  it("appends the link, or places it at {link}", () => {
    expect(composeSms("Log in", "https://x/m/t")).toBe("Log in\nhttps://x/m/t");
    expect(composeSms("Open {link} now", "https://x/m/t")).toBe("Open https://x/m/t now");
  });
});

describe("overload shards", () => {
  it("splits the budget and picks two distinct shards", () => {
    expect(shardCapacity({ maxPending: 10_000, shards: 32 })).toBe(313);
    for (let i = 0; i < 200; i++) {
      const [a, b] = pickShards({ maxPending: 10, shards: 3 });
      expect(a).not.toBe(b);
      expect([a, b].every((s) => /^shard-[0-2]$/.test(s!))).toBe(true);
    }
    expect(pickShards({ maxPending: 10, shards: 1 })).toEqual(["shard-0"]);
  });
});

describe("an endpoint's share of pending sessions over shards", () => {
  it("parts add up to the share exactly, on distinct consecutive shards, more of them for a bigger share", () => {
    const s = { maxPending: 10_000, shards: 32 };
    for (const share of [1, 2, 15, 16, 17, 100, 999, 5000, 100_000]) {
      const parts = endpointShards(s, "tenant-a", share);
      expect(parts.reduce((sum, p) => sum + p.capacity, 0)).toBe(share);
      expect(new Set(parts.map((p) => p.shard)).size).toBe(parts.length);
      expect(parts.length).toBe(Math.min(32, Math.ceil(share / ENDPOINT_LEASES_PER_SHARD)));
      expect(Math.max(...parts.map((p) => p.capacity)) - Math.min(...parts.map((p) => p.capacity))).toBeLessThanOrEqual(1);
    }
    // Stable per name, and names spread over the shards.
    expect(endpointShards(s, "tenant-a", 5)).toEqual(endpointShards(s, "tenant-a", 5));
    const starts = new Set(["a", "b", "c", "d", "e", "f", "g", "h"].map((n) => endpointShards(s, n, 1)[0]?.shard));
    expect(starts.size).toBeGreaterThan(4);
  });
});
