import { env } from "cloudflare:workers";
import { buildPushPayload } from "@block65/webcrypto-web-push";
import { describe, expect, it } from "vitest";
import { pushConfigured, vapidFromEnv } from "../../workers/config/app-secrets";
import { base64url } from "../../core/base64url";
import { sendWebPush } from "../../workers/push/web-push";
import { pushHostsFromEnv } from "../../workers/lib/push-hosts";
import { pushMessages, subscribe } from "./support/authenticator-app";

// sendWebPush takes the allowed push hosts; the tests' fake push service is added by
// PUSH_HOST_ALLOWLIST in vitest.config.ts.
const opts = { ttlSeconds: 30, timeoutMs: 5000, allowedHosts: pushHostsFromEnv(env) };

describe("Web Push against a local push service that decrypts", () => {
  it("push is configured with VAPID keys or in demo mode, else not (admission then skips the device lookup)", () => {
    const none = { ...env, VAPID_PUBLIC_KEY: "", VAPID_PRIVATE_KEY: "", DEMO_MODE: "false" } as Env;
    expect([pushConfigured(env), pushConfigured(none), pushConfigured({ ...none, DEMO_MODE: "true" } as Env)]).toEqual([true, false, true]);
    expect(vapidFromEnv(none)).toBeNull();
  });

  it("delivers an RFC 8291 aes128gcm payload with a valid VAPID JWT", async () => {
    const sub = await subscribe("ok");
    const result = await sendWebPush(sub, { c: "challenge-id-123" }, vapidFromEnv(env)!, opts);
    expect(result).toEqual({ kind: "delivered", status: 201 });
    const [msg] = await pushMessages(sub.id);
    expect(msg!.error).toBeNull();
    expect(JSON.parse(msg!.payload!)).toEqual({ c: "challenge-id-123" });
    expect(msg!.headers).toMatchObject({ contentEncoding: "aes128gcm", ttl: "30", urgency: "high" });
    expect(msg!.vapid).toMatchObject({ ok: true, publicKey: env.VAPID_PUBLIC_KEY });
    expect(msg!.vapid.claims).toMatchObject({ aud: env.TEST_PUSH_URL, sub: "mailto:ops@edge-mfa.test" });
    expect(msg!.bodyLength).toBe(4096); // padded: the size says nothing about the content
  });

  it("the checks can fail: a JWT not signed by key k, and a payload encrypted for another subscription", async () => {
    const vapid = vapidFromEnv(env)!;
    const a = await subscribe("ok");
    // A valid push signed by another VAPID key, presented with our public key as k.
    const other = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey("jwk", other.privateKey)) as JsonWebKey;
    const otherPublic = base64url(new Uint8Array((await crypto.subtle.exportKey("raw", other.publicKey)) as ArrayBuffer));
    const forged = await buildPushPayload(
      { data: { c: "x" } },
      { endpoint: a.endpoint, expirationTime: null, keys: a.keys },
      { subject: vapid.subject, publicKey: otherPublic, privateKey: jwk.d },
    );
    const headers = { ...forged.headers, authorization: forged.headers.authorization.replace(otherPublic, vapid.publicKey) };
    expect((await fetch(a.endpoint, { method: "POST", headers, body: forged.body })).status).toBe(201);
    const [bad] = await pushMessages(a.id);
    expect(bad!.vapid).toMatchObject({ ok: false, error: "bad signature" });
    expect(JSON.parse(bad!.payload!)).toEqual({ c: "x" }); // the body itself was fine
    // B's keys at A's endpoint: A cannot decrypt it.
    const b = await subscribe("ok");
    await sendWebPush({ endpoint: a.endpoint, keys: b.keys }, { c: "y" }, vapid, opts);
    const msgs = await pushMessages(a.id);
    expect(msgs[1]!.vapid.ok).toBe(true);
    expect(msgs[1]!.payload).toBeNull();
    expect(msgs[1]!.error).not.toBeNull();
  });

  it("maps push service answers: 410 and 404 are gone, 5xx is a failure", async () => {
    const vapid = vapidFromEnv(env)!;
    const send = async (mode: "gone" | "missing" | "fail") => sendWebPush(await subscribe(mode), { c: "z" }, vapid, opts);
    expect(await send("gone")).toEqual({ kind: "gone", status: 410 });
    expect(await send("missing")).toEqual({ kind: "gone", status: 404 });
    expect(await send("fail")).toEqual({ kind: "failed", reason: "push service answered HTTP 500" });
    // (workerd logs a refused connection as "uncaught … Network connection lost" even though
    // the rejected fetch is handled; the result below is what counts.)
    const unreachable = await sendWebPush({ endpoint: "https://localhost:1/push/x", keys: (await subscribe()).keys }, { c: "z" }, vapid, {
      ...opts,
      timeoutMs: 2000,
    });
    expect(unreachable.kind).toBe("failed");
  });
});
