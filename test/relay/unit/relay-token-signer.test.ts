import { generateKeyPairSync } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, type CryptoKey as JoseKey } from "jose";
import { describe, expect, it } from "vitest";
import { mintRelayToken, RELAY_TOKEN_CLAIMS, RELAY_TOKEN_MAX_AGE_SECONDS } from "../../../core/contracts/relay-token.ts";
import { sha256Hex } from "../../../core/tokens.ts";
import { RelayTokenSigner } from "../../../relay/src/relay-token-signer.ts";

/**
 * The relay's node:crypto signer makes tokens the edge accepts exactly as it accepts jose's:
 * same header and claims, bound to the one request, a fresh jti every call. `verify` checks
 * them as the edge's verifier does (workers/lib/relay-auth.ts: jose's jwtVerify with these
 * options, then the binding; the worker project tests that verifier itself).
 */
const EDGE = "https://mfa.example.com";
const PATH = "/api/relay/v1/touch";
const BODY = JSON.stringify({ username: "alice", msisdn: "+46701234567", timeoutSeconds: 60 });

async function relayWithKey() {
  return generateKeyPair("ES256");
}

type Verdict = { ok: true } | { ok: false; reason: string };

async function verify(publicKey: JoseKey, token: string, method: string, path: string, body: string, audience: string): Promise<Verdict> {
  try {
    const { payload } = await jwtVerify(token, publicKey, {
      algorithms: ["ES256"],
      issuer: "r1",
      audience,
      maxTokenAge: RELAY_TOKEN_MAX_AGE_SECONDS,
      requiredClaims: [...RELAY_TOKEN_CLAIMS],
    });
    if (payload.htm !== method || payload.htu !== path || payload.bh !== (await sha256Hex(body))) {
      return { ok: false, reason: "token not bound to this request" };
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

describe("RelayTokenSigner", () => {
  it("mints tokens the edge verifies, bound to method, path and body", async () => {
    const { privateKey, publicKey } = await relayWithKey();
    const signer = new RelayTokenSigner(privateKey, "r1", EDGE);
    const token = signer.mint("POST", PATH, BODY);
    expect(await verify(publicKey, token, "POST", PATH, BODY, EDGE)).toEqual({ ok: true });
    expect(await verify(publicKey, token, "POST", PATH, `${BODY} `, EDGE)).toEqual({
      ok: false,
      reason: "token not bound to this request",
    });
    expect((await verify(publicKey, token, "POST", "/api/relay/v1/sms-otp", BODY, EDGE)).ok).toBe(false);
    expect((await verify(publicKey, token, "GET", PATH, BODY, EDGE)).ok).toBe(false);
    expect((await verify(publicKey, token, "POST", PATH, BODY, "https://other.example.com")).ok).toBe(false);
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
    const { publicKey } = await relayWithKey();
    const other = await relayWithKey();
    const token = new RelayTokenSigner(other.privateKey, "r1", EDGE).mint("POST", PATH, BODY);
    expect((await verify(publicKey, token, "POST", PATH, BODY, EDGE)).ok).toBe(false);
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
