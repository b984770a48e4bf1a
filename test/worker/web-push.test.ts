import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { vapidFromEnv } from "../../workers/config/app-secrets";
import { sendWebPush } from "../../workers/push/web-push";
import { pushMessages, subscribe } from "./app-helpers";

describe("Web Push against a local push service that decrypts", () => {
  it("delivers an RFC 8291 aes128gcm payload with a valid VAPID JWT", async () => {
    const sub = await subscribe("ok");
    const result = await sendWebPush(sub, { c: "challenge-id-123" }, vapidFromEnv(env)!, { ttlSeconds: 30, timeoutMs: 5000 });
    expect(result).toEqual({ kind: "delivered", status: 201 });
    const [msg] = await pushMessages(sub.id);
    expect(msg!.error).toBeNull();
    expect(JSON.parse(msg!.payload!)).toEqual({ c: "challenge-id-123" });
    expect(msg!.headers).toMatchObject({ contentEncoding: "aes128gcm", ttl: "30", urgency: "high" });
    expect(msg!.vapid).toMatchObject({ ok: true, publicKey: env.VAPID_PUBLIC_KEY });
    expect(msg!.vapid.claims).toMatchObject({ aud: env.TEST_PUSH_URL, sub: "mailto:ops@edge-mfa.test" });
    expect(msg!.bodyLength).toBe(4096); // padded: the size says nothing about the content
  });
});
