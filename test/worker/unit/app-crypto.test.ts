import { describe, expect, it } from "vitest";
import { fromBase64url } from "../../../core/base64url";
import { verifyCompactJws } from "../../../core/jws";
import { signCompactJws } from "../../../core/jws-sign";
import { matchChoices, pickMatchNumber } from "../../../core/number-match";
import { openSeed, sealSeed } from "../../../core/seed-crypto";
import { base64url } from "../../../core/tokens";

async function deviceKeys() {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
  return { keys, pub: { kty: "EC" as const, crv: "P-256" as const, x: jwk.x!, y: jwk.y! } };
}

describe("device signatures (ES256 compact JWS)", () => {
  it("verifies what the device key signed", async () => {
    const { keys, pub } = await deviceKeys();
    const jws = await signCompactJws(keys.privateKey, { hello: "world" });
    expect(await verifyCompactJws(pub, jws)).toEqual({ hello: "world" });
  });

  it("refuses another key, a tampered payload, alg none and HS256", async () => {
    const { keys, pub } = await deviceKeys();
    const other = await deviceKeys();
    const jws = await signCompactJws(keys.privateKey, { d: "reject" });
    expect(await verifyCompactJws(other.pub, jws)).toBeNull();
    const [h, , s] = jws.split(".");
    const p2 = base64url(new TextEncoder().encode(JSON.stringify({ d: "accept" })));
    expect(await verifyCompactJws(pub, `${h}.${p2}.${s}`)).toBeNull();
    const none = base64url(new TextEncoder().encode(JSON.stringify({ alg: "none" })));
    expect(await verifyCompactJws(pub, `${none}.${p2}.`)).toBeNull();
    const hs = base64url(new TextEncoder().encode(JSON.stringify({ alg: "HS256" })));
    expect(await verifyCompactJws(pub, `${hs}.${p2}.${s}`)).toBeNull();
    expect(await verifyCompactJws(pub, "garbage")).toBeNull();
  });
});

describe("seed encryption at rest (AES-256-GCM)", () => {
  const key = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const seed = crypto.getRandomValues(new Uint8Array(20));

  it("round-trips, with a fresh IV each time", async () => {
    const a = await sealSeed(key, seed, "device-1");
    const b = await sealSeed(key, seed, "device-1");
    expect(a.iv).not.toBe(b.iv);
    expect(await openSeed(key, a, "device-1")).toEqual(seed);
    expect(fromBase64url(a.ct).length).toBe(20 + 16); // ciphertext + GCM tag
  });

  it("fails under another key or for another device id", async () => {
    const sealed = await sealSeed(key, seed, "device-1");
    const otherKey = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await expect(openSeed(otherKey, sealed, "device-1")).rejects.toThrow();
    await expect(openSeed(key, sealed, "device-2")).rejects.toThrow();
  });
});

describe("number matching choices", () => {
  it("picks two-digit numbers", () => {
    expect(pickMatchNumber(() => 0)).toBe(10);
    expect(pickMatchNumber(() => 0.999999)).toBe(99);
  });

  it("offers three distinct numbers including the right one, in varying positions", () => {
    const positions = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const c = matchChoices(42);
      expect(c).toHaveLength(3);
      expect(new Set(c).size).toBe(3);
      expect(c).toContain(42);
      positions.add(c.indexOf(42));
    }
    expect(positions).toEqual(new Set([0, 1, 2]));
  });
});
