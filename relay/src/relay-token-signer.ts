import { KeyObject, randomUUID, sign, type webcrypto } from "node:crypto";
import { sha256Hex } from "./radius/digest.ts";
import type { CryptoKey as JoseKey, KeyObject as JoseKeyObject } from "jose";
import { relayTokenHeader, relayTokenPayload } from "../../core/contracts/relay-token.ts";

/**
 * Mints the relay's per-call edge tokens (core/contracts/relay-token.ts) with node:crypto:
 * one ES256 signature over a KeyObject, the header encoded once. The same token jose's
 * SignJWT makes (same header, the same claims from relayTokenPayload(), a fresh `jti` and body
 * hash every call: nothing is reused across requests), without WebCrypto's async jobs:
 * profiling the relay under load showed jose's path (async SHA-256, async sign, their
 * promises) as its largest single cost per login.
 */
export class RelayTokenSigner {
  readonly #key: KeyObject;
  readonly #relayName: string;
  readonly #audience: string;
  readonly #header: string;

  /** `key`: as loadPrivateKey() or jose's generateKeyPair() give it (a WebCrypto key or a KeyObject). */
  constructor(key: JoseKey | JoseKeyObject, relayName: string, audience: string) {
    // On Node, jose's keys are Node's own: a KeyObject, or a WebCrypto key KeyObject.from() converts.
    const keyObject = key instanceof KeyObject ? key : KeyObject.from(key as webcrypto.CryptoKey);
    if (
      keyObject.type !== "private" ||
      keyObject.asymmetricKeyType !== "ec" ||
      keyObject.asymmetricKeyDetails?.namedCurve !== "prime256v1"
    ) {
      throw new Error("edge.privateKeyFile: an ES256 (EC P-256) private key is required");
    }
    this.#key = keyObject;
    this.#relayName = relayName;
    this.#audience = audience;
    this.#header = base64url(JSON.stringify(relayTokenHeader(relayName)));
  }

  /** A token for one call: bound to its method, path and body, valid once at the edge. */
  mint(method: string, path: string, body: string): string {
    const input = this.#signingInput(method, path, body);
    // JWS ES256 wants the raw r||s signature (RFC 7518 §3.4), not DER.
    const signature = sign("sha256", Buffer.from(input), { key: this.#key, dsaEncoding: "ieee-p1363" });
    return `${input}.${signature.toString("base64url")}`;
  }

  /** The header and claims of one token, encoded: what is signed. */
  #signingInput(method: string, path: string, body: string): string {
    const bh = sha256Hex(body);
    const claims = relayTokenPayload(this.#relayName, this.#audience, method, path, bh, Math.floor(Date.now() / 1000), randomUUID());
    return `${this.#header}.${base64url(JSON.stringify(claims))}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}
