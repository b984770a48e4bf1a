import { createDecipheriv, createECDH, createHmac, createPublicKey, randomBytes, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { ReceivedPush } from "./received-push.ts";

export type { ReceivedPush };

/**
 * A local Web Push service for tests: a real HTTPS server (push endpoints must be https, so it
 * serves a test-only certificate that the runtime is told to trust via NODE_EXTRA_CA_CERTS).
 *
 * It plays both sides a browser and its push service would:
 *   POST /_subscribe?mode=ok|gone|missing|fail  -> a fresh subscription (P-256 key pair and
 *        auth secret kept here), shaped like PushSubscription.toJSON()
 *   POST /push/{id}  -> checks the VAPID JWT (RFC 8292), DECRYPTS the aes128gcm body
 *        (RFC 8291/8188) with the subscription's private key, records the result and answers
 *        by the subscription's mode: 201, 410 Gone, 404 Not Found or 500.
 *   GET /_messages?sub={id}  -> what arrived for that subscription (decrypted), oldest first.
 */

export const FAKE_PUSH_CERT_PATH = fileURLToPath(new URL("./tls/fake-push-service.crt", import.meta.url));
const KEY_PATH = fileURLToPath(new URL("./tls/fake-push-service.key", import.meta.url));

/** How a subscription answers; "redirect" sends a 307 to itself, which accepts when followed. */
export type PushMode = "ok" | "gone" | "missing" | "fail" | "redirect";

interface Subscription {
  id: string;
  mode: PushMode;
  ecdh: ReturnType<typeof createECDH>;
  publicKey: Buffer;
  auth: Buffer;
}

const b64u = (b: Buffer | Uint8Array) => Buffer.from(b).toString("base64url");
const hmac = (key: Buffer, data: Buffer) => createHmac("sha256", key).update(data).digest();

/** RFC 8291 §3.4 + RFC 8188 §2: one record, as Web Push uses it. */
export function decryptAes128gcm(body: Buffer, uaPrivate: ReturnType<typeof createECDH>, uaPublic: Buffer, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  if (idlen !== 65) throw new Error(`keyid must be the 65-byte sender key, got ${idlen}`);
  if (ciphertext.length > rs) throw new Error("more than one record");
  const ecdhSecret = uaPrivate.computeSecret(asPublic);
  const prkKey = hmac(auth, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from("Content-Encoding: aes128gcm\0\x01")).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from("Content-Encoding: nonce\0\x01")).subarray(0, 12);
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // Last record: data, then the 0x02 delimiter, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("missing last-record delimiter 0x02");
  return padded.subarray(0, end).toString("utf8");
}

/** RFC 8292: `vapid t=<ES256 JWT>, k=<uncompressed P-256 public key>`. */
export function checkVapid(authorization: string | undefined, audience: string, now = Date.now()): ReceivedPush["vapid"] {
  const fail = (error: string, claims: Record<string, unknown> | null = null, publicKey: string | null = null) => ({
    ok: false,
    error,
    claims,
    publicKey,
  });
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? "");
  if (!m) return fail(`bad Authorization header: ${authorization ?? "(none)"}`);
  const [, jwt, k] = m as unknown as [string, string, string];
  const [h, p, s] = jwt.split(".");
  if (!h || !p || !s) return fail("JWT is not three parts");
  const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
  const raw = Buffer.from(k, "base64url");
  if (raw.length !== 65 || raw[0] !== 4) return fail("k is not an uncompressed P-256 point", claims, k);
  const key = createPublicKey({
    key: { kty: "EC", crv: "P-256", x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33)) },
    format: "jwk",
  });
  if (header.alg !== "ES256") return fail(`alg ${String(header.alg)}`, claims, k);
  const sigOk = verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
  if (!sigOk) return fail("bad signature", claims, k);
  if (claims.aud !== audience) return fail(`aud ${String(claims.aud)} != ${audience}`, claims, k);
  const exp = Number(claims.exp);
  if (!(exp > now / 1000) || exp > now / 1000 + 86_400) return fail(`exp ${exp} not within 24 h`, claims, k);
  if (typeof claims.sub !== "string" || !/^(mailto:|https:)/.test(claims.sub)) return fail("sub missing", claims, k);
  return { ok: true, error: null, claims, publicKey: k };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface FakePushService {
  url: string;
  server: Server;
  subscribe(mode?: PushMode): Promise<{ id: string; endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }>;
  received: ReceivedPush[];
  close(): Promise<void>;
}

export async function startFakePushService(port = 0): Promise<FakePushService> {
  const subs = new Map<string, Subscription>();
  const received: ReceivedPush[] = [];
  let origin = "";

  const newSubscription = (mode: PushMode) => {
    const ecdh = createECDH("prime256v1");
    const publicKey = ecdh.generateKeys();
    const sub: Subscription = { id: b64u(randomBytes(12)), mode, ecdh, publicKey, auth: randomBytes(16) };
    subs.set(sub.id, sub);
    return {
      id: sub.id,
      endpoint: `${origin}/push/${sub.id}`,
      expirationTime: null,
      keys: { p256dh: b64u(publicKey), auth: b64u(sub.auth) },
    };
  };

  const server = createServer({ cert: readFileSync(FAKE_PUSH_CERT_PATH), key: readFileSync(KEY_PATH) }, async (req, res) => {
    const url = new URL(req.url ?? "/", origin);
    const json = (status: number, value: unknown) => {
      res.statusCode = status;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(value));
    };
    if (req.method === "POST" && url.pathname === "/_subscribe") {
      const mode = (url.searchParams.get("mode") ?? "ok") as PushMode;
      return json(200, newSubscription(mode));
    }
    if (req.method === "GET" && url.pathname === "/_messages") {
      const sub = url.searchParams.get("sub");
      return json(200, sub ? received.filter((r) => r.subscription === sub) : received);
    }
    const m = /^\/push\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    const sub = m ? subs.get(m[1]!) : undefined;
    if (req.method !== "POST" || !sub) return json(404, { error: "no such subscription" });
    if (sub.mode === "redirect" && !url.searchParams.has("followed")) {
      res.statusCode = 307;
      res.setHeader("location", `${url.pathname}?followed=1`);
      return res.end();
    }
    const body = await readBody(req);
    const status = { ok: 201, gone: 410, missing: 404, fail: 500, redirect: 201 }[sub.mode];
    const record: ReceivedPush = {
      subscription: sub.id,
      receivedAt: Date.now(),
      payload: null,
      error: null,
      vapid: checkVapid(req.headers.authorization, origin),
      headers: {
        ttl: (req.headers.ttl as string | undefined) ?? null,
        urgency: (req.headers.urgency as string | undefined) ?? null,
        contentEncoding: (req.headers["content-encoding"] as string | undefined) ?? null,
        contentType: (req.headers["content-type"] as string | undefined) ?? null,
      },
      bodyLength: body.length,
      status,
    };
    try {
      record.payload = decryptAes128gcm(body, sub.ecdh, sub.publicKey, sub.auth);
    } catch (e) {
      record.error = String(e);
    }
    received.push(record);
    res.statusCode = status;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  server.unref();
  // "localhost" matches the certificate's DNS name; the Worker's fetch resolves it to loopback.
  origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    server,
    received,
    subscribe: async (mode = "ok") => newSubscription(mode),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
