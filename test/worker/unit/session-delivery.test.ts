// Push delivery of a session's challenge against a stand-in host: what each push outcome means.
import { describe, expect, it } from "vitest";
import type { PushResult } from "../../../workers/push/web-push";
import { type DeliveryHost, pushToApprover, pushToUser } from "../../../workers/objects/session/delivery";
import type { PushTarget } from "../../../workers/objects/subscriber/contract";

const TARGET: PushTarget = {
  challengeId: "chal",
  devices: [{ deviceId: "dev", subscription: { endpoint: "https://push.test/x", keys: { p256dh: "p", auth: "a" } }, userVerifying: false }],
};
const REQUEST = { msisdn: "+46701234567", session: "s1", endpoint: "ep", expiresAt: Date.now() + 60_000 };

function host(options: { push?: PushResult | ((endpoint: string) => PushResult); target?: PushTarget | null; config?: "off" | "broken" }) {
  const calls: string[] = [];
  const fake: DeliveryHost = {
    pushConfig() {
      if (options.config === "broken") throw new Error("bad VAPID key");
      if (options.config === "off") return null;
      return { vapid: { subject: "mailto:x@test", publicKey: "pub", privateKey: "priv" }, allowedHosts: ["push.test"] };
    },
    subscriber: (msisdn) => ({
      pushTarget: async (session) => (calls.push(`pushTarget ${msisdn} ${session}`), options.target ?? null),
      approverTarget: async (session, until) => (calls.push(`approverTarget ${session} ${until}`), options.target ?? null),
      forgetDevice: async (deviceId) => (calls.push(`forget ${deviceId}`), true),
    }),
    sendPush: async (subscription, data, _vapid, push) => {
      calls.push(`push ${data.c} ttl<=${push.ttlSeconds <= 60}`);
      const result = options.push ?? { kind: "delivered", status: 201 };
      return typeof result === "function" ? result(subscription.endpoint) : result;
    },
    sendSms: async () => {
      calls.push("sms");
    },
  };
  return { fake, calls };
}

describe("session push delivery", () => {
  it("delivered: the challenge id is pushed and the challenge reported", async () => {
    const { fake, calls } = host({ target: TARGET });
    expect(await pushToUser(fake, REQUEST)).toEqual({ challenge: { challengeId: "chal" }, delivered: true, userVerifying: false });
    expect(calls).toEqual(["pushTarget +46701234567 s1", "push chal ttl<=true"]);
  });

  it("failed: the challenge exists but was not delivered (the device is kept)", async () => {
    const { fake, calls } = host({ target: TARGET, push: { kind: "failed", reason: "timeout" } });
    expect(await pushToUser(fake, REQUEST)).toEqual({ challenge: { challengeId: "chal" }, delivered: false, userVerifying: false });
    expect(calls).not.toContain("forget dev");
  });

  it("gone: the device is forgotten and there is no push", async () => {
    const { fake, calls } = host({ target: TARGET, push: { kind: "gone", status: 410 } });
    expect(await pushToUser(fake, REQUEST)).toBeNull();
    expect(calls).toContain("forget dev");
  });

  it("no device, push off or misconfigured: no push, nothing sent", async () => {
    for (const options of [{ target: null }, { target: TARGET, config: "off" as const }, { target: TARGET, config: "broken" as const }]) {
      const { fake, calls } = host(options);
      expect(await pushToUser(fake, REQUEST)).toBeNull();
      expect(calls.filter((call) => call.startsWith("push "))).toEqual([]);
    }
  });

  it("several devices: each gets the push; a gone one is forgotten, the others count", async () => {
    const two: PushTarget = {
      challengeId: "chal",
      devices: [
        { deviceId: "phone", subscription: { endpoint: "https://push.test/a", keys: { p256dh: "p", auth: "a" } }, userVerifying: false },
        { deviceId: "tablet", subscription: { endpoint: "https://push.test/b", keys: { p256dh: "p", auth: "a" } }, userVerifying: false },
      ],
    };
    const both = host({ target: two });
    expect(await pushToUser(both.fake, REQUEST)).toEqual({ challenge: { challengeId: "chal" }, delivered: true, userVerifying: false });
    expect(both.calls.filter((c) => c.startsWith("push "))).toHaveLength(2);
    const gone = host({ target: two, push: { kind: "gone", status: 410 } });
    expect(await pushToUser(gone.fake, REQUEST)).toBeNull(); // every device gone: no push at all
    expect(gone.calls).toEqual(expect.arrayContaining(["forget phone", "forget tablet"]));
    const failed = host({ target: two, push: { kind: "failed", reason: "timeout" } });
    expect(await pushToUser(failed.fake, REQUEST)).toEqual({ challenge: { challengeId: "chal" }, delivered: false, userVerifying: false });
  });

  it("says whether a device it went to can verify its user; a gone one does not count", async () => {
    const sub = (endpoint: string) => ({ endpoint, keys: { p256dh: "p", auth: "a" } });
    const mixed: PushTarget = {
      challengeId: "chal",
      devices: [
        { deviceId: "phone", subscription: sub("https://push.test/uv"), userVerifying: true },
        { deviceId: "tablet", subscription: sub("https://push.test/tap"), userVerifying: false },
      ],
    };
    expect(await pushToUser(host({ target: mixed }).fake, REQUEST)).toMatchObject({ delivered: true, userVerifying: true });
    // A push that failed still leaves the challenge to the app opened by hand: it counts.
    const failed = host({ target: mixed, push: { kind: "failed", reason: "timeout" } });
    expect(await pushToUser(failed.fake, REQUEST)).toMatchObject({ delivered: false, userVerifying: true });
    // The verifying device is gone (forgotten): only the tapping one is left.
    const gone = host({
      target: mixed,
      push: (endpoint) => (endpoint.endsWith("/uv") ? { kind: "gone", status: 410 } : { kind: "delivered", status: 201 }),
    });
    expect(await pushToUser(gone.fake, REQUEST)).toMatchObject({ delivered: true, userVerifying: false });
    expect(gone.calls).toContain("forget phone");
  });

  it("the approver's entry lapses a margin after the session's deadline", async () => {
    const { fake, calls } = host({ target: TARGET });
    await pushToApprover(fake, REQUEST);
    expect(calls[0]).toBe(`approverTarget s1 ${REQUEST.expiresAt + 60_000}`);
  });
});
