/**
 * A WebAuthn platform authenticator in software, for worker tests: an ES256 key, "none"
 * attestation at registration, and assertions whose authenticatorData carries the UP and UV
 * flags (UV can be switched off) and a signature counter, over clientDataJSON like a browser's.
 */
import { base64url, fromBase64url } from "../../../core/base64url";

const enc = new TextEncoder();

/** Minimal CBOR encoder for the shapes WebAuthn needs: maps with text or negative/positive int keys, byte strings, text, ints. */
function cbor(value: unknown): Uint8Array {
  const head = (major: number, n: number): number[] => {
    if (n < 24) return [(major << 5) | n];
    if (n < 256) return [(major << 5) | 24, n];
    if (n < 65536) return [(major << 5) | 25, n >> 8, n & 255];
    return [(major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  };
  if (typeof value === "number") return new Uint8Array(value >= 0 ? head(0, value) : head(1, -1 - value));
  if (typeof value === "string") {
    const bytes = enc.encode(value);
    return new Uint8Array([...head(3, bytes.length), ...bytes]);
  }
  if (value instanceof Uint8Array) return new Uint8Array([...head(2, value.length), ...value]);
  if (value instanceof Map) {
    const parts: number[] = head(5, value.size);
    for (const [k, v] of value) parts.push(...cbor(k), ...cbor(v));
    return new Uint8Array(parts);
  }
  throw new Error(`cbor: unsupported ${typeof value}`);
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** A raw (r||s) ECDSA signature as DER, as WebAuthn carries it. */
function derSignature(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.slice(i);
    if ((v[0] ?? 0) & 0x80) v = new Uint8Array([0, ...v]);
    return [0x02, v.length, ...v];
  };
  const body = [...int(raw.slice(0, 32)), ...int(raw.slice(32))];
  return new Uint8Array([0x30, body.length, ...body]);
}

export class SoftwareAuthenticator {
  readonly credentialId = crypto.getRandomValues(new Uint8Array(16));
  userVerified = true;
  counter = 0;
  #keys: CryptoKeyPair | null = null;

  /** The page's origin the browser would put in clientDataJSON (tests change it to play a phishing page). */
  constructor(public origin: string) {}

  get rpId(): string {
    return new URL(this.origin).hostname;
  }

  get id(): string {
    return base64url(this.credentialId);
  }

  async #keyPair(): Promise<CryptoKeyPair> {
    this.#keys ??= (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    return this.#keys;
  }

  async #authData(extra: Uint8Array = new Uint8Array()): Promise<Uint8Array> {
    const flags = 0x01 | (this.userVerified ? 0x04 : 0) | (extra.length ? 0x40 : 0);
    const c = this.counter;
    return new Uint8Array([
      ...(await sha256(enc.encode(this.rpId))),
      flags,
      (c >>> 24) & 255,
      (c >> 16) & 255,
      (c >> 8) & 255,
      c & 255,
      ...extra,
    ]);
  }

  #clientData(type: string, challenge: string): Uint8Array {
    return enc.encode(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** A registration response (RegistrationResponseJSON) for options from the edge. */
  async register(options: { challenge: string }) {
    const jwk = (await crypto.subtle.exportKey("jwk", (await this.#keyPair()).publicKey)) as JsonWebKey;
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromBase64url(jwk.x ?? "")],
        [-3, fromBase64url(jwk.y ?? "")],
      ]),
    );
    const attested = new Uint8Array([...new Uint8Array(16), 0, this.credentialId.length, ...this.credentialId, ...cose]);
    const authData = await this.#authData(attested);
    const attestationObject = cbor(
      new Map<string, unknown>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key" as const,
      response: {
        clientDataJSON: base64url(this.#clientData("webauthn.create", options.challenge)),
        attestationObject: base64url(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform" as const,
    };
  }

  /** An assertion (AuthenticationResponseJSON) over `challenge` (base64url); the counter grows. */
  async assert(challenge: string) {
    this.counter++;
    const authData = await this.#authData();
    const clientData = this.#clientData("webauthn.get", challenge);
    const signed = new Uint8Array([...authData, ...(await sha256(clientData))]);
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, (await this.#keyPair()).privateKey, signed));
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key" as const,
      response: {
        clientDataJSON: base64url(clientData),
        authenticatorData: base64url(authData),
        signature: base64url(derSignature(raw)),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform" as const,
    };
  }
}
