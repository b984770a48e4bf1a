import { generateKeyPairSync } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { mintRelayToken, RELAY_TOKEN_CLAIMS } from "../../../core/contracts/relay-token.ts";
import { RelayTokenSigner } from "../../../relay/src/relay-token-signer.ts";
import type { Config } from "../../../workers/config/schema.ts";
import { verifyRelayRequest } from "../../../workers/lib/relay-auth.ts";

/**
 * The relay's node:crypto signer makes tokens the edge's verifier (workers/lib/relay-auth.ts)
 * accepts exactly as it accepts jose's: same header and claims, bound to the one request, a
 * fresh jti every call.
 */
const EDGE = "https://mfa.example.com";
const PATH = "/api/relay/v1/touch";
const BODY = JSON.stringify({ username: "alice", msisdn: "+46701234567", timeoutSeconds: 60 });

async function relayWithKey() {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const { kty, crv, x, y } = await exportJWK(publicKey);
  // verifyRelayRequest reads only `relays` (name, publicJwk) of the config.
  const config = { relays: [{ name: "r1", publicJwk: { kty, crv, x, y } }] } as unknown as Config;
  return { privateKey, config };
}

describe("RelayTokenSigner", () => {
  it("mints tokens the edge verifies, bound to method, path and body", async () => {
    const { privateKey, config } = await relayWithKey();
    const signer = new RelayTokenSigner(privateKey, "r1", EDGE);
    const token = signer.mint("POST", PATH, BODY);
    const ok = await verifyRelayRequest(config, `Bearer ${token}`, "POST", PATH, BODY, EDGE);
    expect(ok.ok).toBe(true);
    expect(await verifyRelayRequest(config, `Bearer ${token}`, "POST", PATH, `${BODY} `, EDGE)).toEqual({
      ok: false,
      reason: "token not bound to this request",
    });
    expect((await verifyRelayRequest(config, `Bearer ${token}`, "POST", "/api/relay/v1/sms-otp", BODY, EDGE)).ok).toBe(false);
    expect((await verifyRelayRequest(config, `Bearer ${token}`, "GET", PATH, BODY, EDGE)).ok).toBe(false);
    expect((await verifyRelayRequest(config, `Bearer ${token}`, "POST", PATH, BODY, "https://other.example.com")).ok).toBe(false);
  });

  it("carries the same header and claims as jose's mintRelayToken, with a fresh jti each call", async () => {
    const { privateKey } = await relayWithKey();
    const signer = new RelayTokenSigner(privateKey, "r1", EDGE);
    const a = signer.mint("POST", PATH, BODY);
    const b = signer.mint("POST", PATH, BODY);
    const jose = await mintRelayToken(privateKey, "r1", EDGE, "POST", PATH, BODY);
    expect(decodeProtectedHeader(a)).toEqual(decodeProtectedHeader(jose));
    const claims = decodeJwt(a);
    expect(Object.keys(claims).sort()).toEqual(Object.keys(decodeJwt(jose)).sort());
    for (const c of RELAY_TOKEN_CLAIMS) expect(claims[c]).toBeDefined();
    expect(claims.bh).toBe(decodeJwt(jose).bh);
    expect(claims.jti).not.toBe(decodeJwt(b).jti);
    expect(a).not.toBe(b);
  });

  it("refuses a token signed by another key", async () => {
    const { config } = await relayWithKey();
    const other = await relayWithKey();
    const token = new RelayTokenSigner(other.privateKey, "r1", EDGE).mint("POST", PATH, BODY);
    expect((await verifyRelayRequest(config, `Bearer ${token}`, "POST", PATH, BODY, EDGE)).ok).toBe(false);
  });

  it("accepts only an EC P-256 private key, naming the setting", () => {
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const pub = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    for (const key of [p384, rsa, pub]) expect(() => new RelayTokenSigner(key, "r1", EDGE)).toThrow(/edge\.privateKeyFile/);
    const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    expect(new RelayTokenSigner(p256, "r1", EDGE).mint("POST", PATH, BODY).split(".")).toHaveLength(3);
  });
});
