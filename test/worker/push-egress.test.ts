import { env } from "cloudflare:workers";
import { randomToken } from "../../core/tokens";
import { describe, expect, it } from "vitest";
import { vapidFromEnv } from "../../workers/config/app-secrets";
import { signCompactJws } from "../../core/jws-sign";
import { DEFAULT_PUSH_HOSTS, isAllowedPushEndpoint, pushHosts, pushHostsFromEnv } from "../../workers/lib/push-hosts";
import { sendWebPush } from "../../workers/push/web-push";
import {
  APP,
  activateDevice,
  activationTokenFrom,
  appApi,
  newDeviceKeys,
  publicJwk,
  pushMessages,
  subscribe,
} from "./support/authenticator-app";
import { answer, callAuth, freshMsisdn, openLink, waitForLink } from "./support/magic-link";

/** Issue 10 item 12: Web Push only to the known push services' hosts, and never via a redirect. */

const now = () => Math.floor(Date.now() / 1000);

describe("push host allow-list", () => {
  it("accepts the real push services over https and nothing else", () => {
    const hosts = pushHosts("");
    expect(hosts).toEqual([...DEFAULT_PUSH_HOSTS]);
    for (const ok of [
      "https://fcm.googleapis.com/fcm/send/abc",
      "https://updates.push.services.mozilla.com/wpush/v2/abc",
      "https://web.push.apple.com/QGx",
      "https://wns2-par02p.notify.windows.com/w/?token=x",
    ])
      expect(isAllowedPushEndpoint(ok, hosts), ok).toBe(true);
    for (const bad of [
      "http://fcm.googleapis.com/fcm/send/abc",
      "https://fcm.googleapis.com.evil.example/x",
      "https://evilpush.apple.com/x",
      "https://push.apple.com/x",
      "https://169.254.169.254/latest/meta-data",
      "https://user:pw@fcm.googleapis.com/x",
      "not a url",
    ])
      expect(isAllowedPushEndpoint(bad, hosts), bad).toBe(false);
  });

  it("PUSH_HOST_ALLOWLIST adds hosts and wildcards; garbage is a configuration error", () => {
    const hosts = pushHosts(" push.example.com, *.corp.example ");
    expect(isAllowedPushEndpoint("https://push.example.com:8443/x", hosts)).toBe(true);
    expect(isAllowedPushEndpoint("https://a.corp.example/x", hosts)).toBe(true);
    expect(isAllowedPushEndpoint("https://corp.example/x", hosts)).toBe(false);
    expect(() => pushHosts("https://x.example/")).toThrow(/PUSH_HOST_ALLOWLIST/);
  });
});

describe("sending", () => {
  const vapid = () => vapidFromEnv(env)!;

  it("does not contact a subscription whose host is not allowed", async () => {
    const sub = await subscribe("ok");
    const result = await sendWebPush(sub, { c: "x" }, vapid(), { ttlSeconds: 30, timeoutMs: 5000, allowedHosts: pushHosts("") });
    expect(result).toEqual({ kind: "failed", reason: "push endpoint host is not an allowed push service" });
    expect(await pushMessages(sub.id)).toEqual([]);
  });

  it("never follows a redirect: a 3xx is a failed push", async () => {
    const sub = await subscribe("redirect");
    const result = await sendWebPush(sub, { c: "x" }, vapid(), { ttlSeconds: 30, timeoutMs: 5000, allowedHosts: pushHostsFromEnv(env) });
    expect(result).toEqual({ kind: "failed", reason: "push service answered HTTP 307 (redirects are not followed)" });
    expect(await pushMessages(sub.id)).toEqual([]);
  });
});

describe("registration", () => {
  const elsewhere = async () => ({ endpoint: "https://169.254.169.254/latest/meta-data/x", keys: (await subscribe()).keys });

  it("activation with a subscription at another host is refused clearly (and the token stays usable)", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const { token, code } = await activationTokenFrom(link);
    const keys = await newDeviceKeys();
    const refused = await appApi("activate", { msisdn, token, code, publicKey: await publicJwk(keys), subscription: await elsewhere() });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "push_service_not_allowed" });
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toBeNull();
    const sub = await subscribe();
    const ok = await appApi("activate", {
      msisdn,
      token,
      code,
      publicKey: await publicJwk(keys),
      subscription: { endpoint: sub.endpoint, keys: sub.keys },
    });
    expect(ok.status).toBe(200);
    const page = await openLink(link);
    await answer(link, "reject", page.csrf!);
    await pending;
  });

  it("a device update to a subscription at another host is refused; the stored one stays", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const jws = await signCompactJws(d.keys.privateKey, {
      typ: "edge-mfa/device",
      jti: randomToken(16),
      iat: now(),
      subscription: await elsewhere(),
    });
    const res = await appApi("device", { msisdn, deviceId: d.deviceId, jws });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "push_service_not_allowed" });
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: d.deviceId, push: true });
  });
});
