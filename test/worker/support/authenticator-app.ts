import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import type { SoftwareAuthenticator } from "./software-authenticator";
import type { AnswerClaims, ChallengeDetails, DeviceRead } from "../../../core/contracts/app-api";
import { signCompactJws } from "../../../core/jws-sign";
import { randomToken } from "../../../core/tokens";
import type { ReceivedPush } from "../../../harness/received-push";
import { KEYS, answer, callAuth, gatewayRequests, openLink, waitForLink } from "./magic-link";

export type FakeSubscription = { id: string; endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };

/** A subscription at the fake push service; `mode` picks how it answers pushes. */
export async function subscribe(mode: "ok" | "gone" | "missing" | "fail" | "redirect" = "ok"): Promise<FakeSubscription> {
  const res = await fetch(`${env.TEST_PUSH_URL}/_subscribe?mode=${mode}`, { method: "POST" });
  return (await res.json()) as FakeSubscription;
}

/** What the fake push service received (and decrypted) for a subscription. */
export async function pushMessages(subId: string): Promise<ReceivedPush[]> {
  const res = await fetch(`${env.TEST_PUSH_URL}/_messages?sub=${subId}`);
  return (await res.json()) as ReceivedPush[];
}

export const APP = { endpoint: "app", key: KEYS.app } as const;
export const APP_NM = { endpoint: "app-nm", key: KEYS.appNm } as const;
export const NO_PUSH = { endpoint: "no-push", key: KEYS.noPush } as const;
export const APP_UV = { endpoint: "app-uv", key: KEYS.appUv } as const;
export const APP_UV_TAP = { endpoint: "app-uv-tap", key: KEYS.appUvTap } as const;
/** The origin the worker tests call the edge at (appApi), so WebAuthn's expected origin. */
export const EDGE_ORIGIN = "https://mfa.example.com";

/** A simulated authenticator app: a P-256 key pair like the browser's and a fake-push subscription. */
export interface TestDevice {
  msisdn: string;
  deviceId: string;
  seed: string;
  keys: CryptoKeyPair;
  sub: FakeSubscription | null;
}

/** A call to the app API; `ip` is sent as CF-Connecting-IP, as Cloudflare's edge does. */
export async function appApi(path: string, body: unknown, ip?: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`https://mfa.example.com/app/api/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(ip ? { "cf-connecting-ip": ip } : {}) },
      body: JSON.stringify(body),
    }),
  );
}

/** The newest activation code sent to a number by SMS (waits for it). */
export async function activationCode(msisdn: string, after = 0): Promise<string> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const texts = (await gatewayRequests(msisdn)).slice(after).map((r) => r.text?.match(/activation code is (\d{6})/)?.[1]);
    const code = texts.filter(Boolean).at(-1);
    if (code) return code;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no activation code reached ${msisdn}`);
}

/**
 * Presses "Use the app" on the SMS link page; returns the activation token from the redirect
 * and the one-time code that came by SMS with it (null when none was sent).
 */
export async function activationTokenFrom(
  link: string,
): Promise<{ res: Response; token: string | null; msisdn: string | null; code: string | null }> {
  const page = await openLink(link);
  const res = await exports.default.fetch(
    new Request(`${link}/activate`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(link).origin },
      body: new URLSearchParams({ csrf: page.csrf ?? "" }),
    }),
  );
  const location = res.headers.get("location") ?? "";
  const fragment = new URLSearchParams(location.split("#")[1] ?? "");
  const msisdn = fragment.get("msisdn");
  const code = res.status === 303 && msisdn ? await activationCode(msisdn) : null;
  return { res, token: fragment.get("activate"), msisdn, code };
}

export async function newDeviceKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])) as CryptoKeyPair;
}

export async function publicJwk(keys: CryptoKeyPair) {
  const jwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/**
 * Activates a device for a number the way a user does: a sign-in SMS arrives, the user taps
 * "Use the app" on its page, the app registers its key and subscription. The triggering
 * sign-in is then answered on the link page so the number has nothing pending.
 */
export interface ActivationOptions {
  endpoint?: { endpoint: string; key: string };
  pushMode?: "ok" | "gone" | "missing" | "fail" | null;
  /** The device's name (none: the app of an earlier release, which sent none). */
  name?: string;
  /** Registers this platform authenticator's credential with the activation. */
  authenticator?: SoftwareAuthenticator;
  /** Makes the registration from the edge's options instead (to send a bad one). */
  registration?: (options: { challenge: string }) => Promise<unknown>;
}

/**
 * Activates a device for a number the way a user does: a sign-in SMS arrives, the user taps
 * "Use the app" on its page, the app registers its key and subscription. The triggering
 * sign-in is then answered on the link page so the number has nothing pending.
 */
export async function activateDevice(msisdn: string, opts: ActivationOptions = {}): Promise<TestDevice> {
  const { res, device, finish } = await requestActivation(msisdn, opts);
  if (res.status !== 200) throw new Error(`activation failed: ${res.status} ${await res.text()}`);
  const { deviceId, seed } = (await res.json()) as { deviceId: string; seed: string };
  await finish();
  return { ...device, deviceId, seed };
}

/**
 * The steps of an activation up to the app's POST /activate (a sign-in is left pending; call
 * `finish` to reject it on its link page). For a number with devices the answer is a join (202).
 */
export async function requestActivation(msisdn: string, opts: ActivationOptions = {}) {
  const ep = opts.endpoint ?? APP;
  const earlier = (await gatewayRequests(msisdn)).length;
  const pending = callAuth(msisdn, ep);
  // With an app already active the link comes as the push fallback, after the grace period.
  const link = await waitForLink(msisdn, 10_000, earlier);
  const { token, code } = await activationTokenFrom(link);
  if (!token) throw new Error("no activation token");
  const keys = await newDeviceKeys();
  const sub = opts.pushMode === null ? null : await subscribe(opts.pushMode ?? "ok");
  let webauthn: unknown;
  if (opts.authenticator || opts.registration) {
    const options = (await (await appApi("registration-options", { msisdn, token })).json()) as { challenge: string };
    webauthn = opts.registration ? await opts.registration(options) : await opts.authenticator?.register(options);
  }
  const body = {
    msisdn,
    token,
    code,
    publicKey: await publicJwk(keys),
    subscription: sub && { endpoint: sub.endpoint, keys: sub.keys },
    ...(opts.name ? { name: opts.name } : {}),
    ...(webauthn ? { webauthn } : {}),
  };
  const res = await appApi("activate", body);
  const finish = async () => {
    await answer(link, "reject", (await openLink(link)).csrf!);
    await pending;
  };
  return { res, body, token, link, finish, device: { msisdn, keys, sub, deviceId: "", seed: "" } as TestDevice };
}

/**
 * A further device joins a number that has devices: it activates (202), its grace window is
 * aged in storage rather than waited for, and it claims its seed.
 */
export async function joinDevice(msisdn: string, opts: ActivationOptions = {}): Promise<TestDevice> {
  const { res, device, finish } = await requestActivation(msisdn, opts);
  if (res.status !== 202) throw new Error(`join failed: ${res.status} ${await res.text()}`);
  const { deviceId } = (await res.json()) as { deviceId: string };
  await finish();
  await ageJoin(msisdn);
  const claimed = await claimJoin({ ...device, deviceId });
  if (claimed.status !== 200) throw new Error(`claim failed: ${claimed.status} ${await claimed.text()}`);
  const { seed } = (await claimed.json()) as { seed: string };
  return { ...device, deviceId, seed };
}

/** The pending join's grace window has passed (aged in storage). */
export async function ageJoin(msisdn: string): Promise<void> {
  await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), async (_i, state) => {
    const join = await state.storage.get<{ effectiveAt: number }>("replacement");
    if (join) await state.storage.put("replacement", { ...join, effectiveAt: Date.now() - 1 });
  });
}

/** The joining device's signed claim. */
export async function claimJoin(d: Pick<TestDevice, "msisdn" | "deviceId" | "keys">): Promise<Response> {
  const jws = await signCompactJws(d.keys.privateKey, {
    typ: "edge-mfa/device",
    iat: Math.floor(Date.now() / 1000),
    jti: randomToken(16),
    claim: true,
  });
  return appApi("claim", { msisdn: d.msisdn, deviceId: d.deviceId, jws });
}

/** Waits until the fake push service has decrypted a push for the subscription; returns its challenge id. */
export async function waitForPush(sub: FakeSubscription, count = 1, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const msgs = await pushMessages(sub.id);
    if (msgs.length >= count) return (JSON.parse(msgs[count - 1]!.payload!) as { c: string }).c;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no push #${count} reached ${sub.id}`);
}

/** A read as the app signs it (pending, devices, challenge), by the device `d`'s key. */
export async function signedRead(
  d: Pick<TestDevice, "msisdn" | "deviceId" | "keys">,
  read: DeviceRead,
  challengeId?: string,
  iat = Math.floor(Date.now() / 1000),
) {
  const claims = { typ: "edge-mfa/read", iat, r: read, ...(challengeId ? { c: challengeId } : {}) };
  return { msisdn: d.msisdn, deviceId: d.deviceId, jws: await signCompactJws(d.keys.privateKey, claims) };
}

/** POSTs a signed read to the app API: `/pending` or `/devices`, or `/challenge` with `challengeId`. */
export async function appRead(
  d: Pick<TestDevice, "msisdn" | "deviceId" | "keys">,
  read: DeviceRead,
  challengeId?: string,
): Promise<Response> {
  return appApi(read, { ...(await signedRead(d, read, challengeId)), ...(challengeId ? { challengeId } : {}) });
}

export async function fetchChallenge(d: TestDevice, challengeId: string): Promise<{ res: Response; body: ChallengeDetails }> {
  const res = await appRead(d, "challenge", challengeId);
  return { res, body: (await res.json()) as ChallengeDetails };
}

/** Signs and sends an answer as the app does (with a user-verification assertion when given). */
export async function sendAnswer(
  d: TestDevice,
  claims: Omit<AnswerClaims, "typ">,
  signWith: CryptoKey = d.keys.privateKey,
  webauthn?: unknown,
): Promise<Response> {
  const jws = await signCompactJws(signWith, { typ: "edge-mfa/answer", ...claims });
  return appApi("answer", { msisdn: d.msisdn, deviceId: d.deviceId, jws, ...(webauthn ? { webauthn } : {}) });
}
