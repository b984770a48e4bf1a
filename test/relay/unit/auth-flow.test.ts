import { describe, expect, it } from "vitest";
import { decide, type FlowDeps } from "../../../relay/src/auth-flow.ts";
import { LocalChallengeStore } from "../../../relay/src/challenge-store.ts";
import { parseRelayConfig } from "../../../relay/src/config.ts";
import { EdgeUnavailableError, type EdgeApi, type OtpVerdict, type TouchCode } from "../../../relay/src/edge-client.ts";
import { FirstFactorUnavailableError, type FirstFactor } from "../../../relay/src/first-factor/types.ts";
import { escapeDnValue, escapeFilterValue } from "../../../relay/src/first-factor/ldap.ts";

/** A scripted edge: answers as told and records calls (the real edge is exercised in radclient.test.ts). */
function edge(
  script: Partial<{
    touch: TouchCode | Error;
    sms: "SENT" | "FAILED_DELIVERY" | Error;
    verify: OtpVerdict | Error;
    totp: boolean;
    app: boolean;
  }>,
) {
  const calls: string[] = [];
  const act = <T>(name: string, v: T | Error | undefined, fallback: T): Promise<T> => {
    calls.push(name);
    if (v instanceof Error) return Promise.reject(v);
    return Promise.resolve(v ?? fallback);
  };
  const api: EdgeApi = {
    touch: () => act("touch", script.touch, "TOUCH_ACCEPTED" as TouchCode),
    startSmsOtp: async () => {
      const r = await act("sms", script.sms, "SENT" as const);
      return r === "SENT" ? { code: "SENT" as const, challengeId: "c1" } : { code: r };
    },
    verifySmsOtp: () => act("verifySms", script.verify, "accept" as OtpVerdict),
    verifyTotp: () => act("verifyTotp", script.verify, "accept" as OtpVerdict),
    hasTotp: () => act("hasTotp", script.totp, false),
    hasApp: () => act("hasApp", script.app, false),
    verifyChallengeResponse: (_m, challenge, code) => (
      calls.push(`verifyCr ${challenge} ${code}`), act("verifyCr", script.verify, "accept" as OtpVerdict)
    ),
  };
  return { api, calls };
}

const pass: FirstFactor = { name: "t", verify: async () => ({ ok: true }) };
const config = (over: Record<string, unknown> = {}) =>
  parseRelayConfig({
    clients: [{ name: "c", address: "127.0.0.1", secret: "s" }],
    edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/dev/null" },
    firstFactor: { type: "none" },
    usernameAsMsisdn: true,
    users: { "+46701234567": {} },
    ...over,
  });

function deps(e: EdgeApi, over: Partial<FlowDeps> = {}, cfg = config()): FlowDeps {
  return { config: cfg, firstFactor: pass, edge: e, challenges: new LocalChallengeStore(60_000), now: () => 0, warn: () => {}, ...over };
}
const req = { user: "+46701234567", password: "pw", source: "10.0.0.1" };

describe("decide", () => {
  it("maps Touch results", async () => {
    for (const [touch, code] of [
      ["TOUCH_ACCEPTED", "Access-Accept"],
      ["TOUCH_REJECTED", "Access-Reject"],
      ["USER_NOT_RESPONDED", "Access-Reject"],
      ["BAD_REQUEST", "Access-Reject"],
      ["FAILED_DELIVERY", "Access-Reject"],
    ] as const) {
      expect((await decide(req, deps(edge({ touch }).api))).code).toBe(code);
    }
  });

  it("never calls the edge when the first factor fails or is down", async () => {
    const e = edge({});
    const wrong: FirstFactor = { name: "t", verify: async () => ({ ok: false, reason: "invalid credentials" }) };
    expect((await decide(req, deps(e.api, { firstFactor: wrong }))).code).toBe("Access-Reject");
    const down: FirstFactor = { name: "t", verify: async () => Promise.reject(new FirstFactorUnavailableError("ldap down")) };
    expect((await decide(req, deps(e.api, { firstFactor: down }, config({ failMode: "safe" })))).code).toBe("Access-Reject");
    expect(e.calls).toEqual([]);
  });

  // Changed with issue 10 (items 1-2): the operator's map now wins over the directory, and an
  // E.164 username is the number only when opted in and the user is known.
  it("takes the phone number from the users map, then the directory, then (opt-in, known users) the username", async () => {
    const seen: string[] = [];
    const e: EdgeApi = { ...edge({}).api, touch: async (w) => (seen.push(w.msisdn), "TOUCH_ACCEPTED") };
    const dir: FirstFactor = { name: "t", vouchesForUser: true, verify: async () => ({ ok: true, msisdn: "+46700000001" }) };
    await decide({ ...req, user: "alice" }, deps(e, { firstFactor: dir }, config({ users: { alice: { msisdn: "+46700000002" } } })));
    await decide({ ...req, user: "alice" }, deps(e, { firstFactor: dir }));
    await decide(req, deps(e));
    expect(seen).toEqual(["+46700000002", "+46700000001", "+46701234567"]);
    expect((await decide({ ...req, user: "carol" }, deps(e))).reason).toBe("no phone number for user");
  });

  it("type 7 falls back to TOTP only with a token; type 8 to SMS OTP first", async () => {
    const plus = config({ secondFactor: 7 });
    expect((await decide(req, deps(edge({ touch: "FAILED_DELIVERY", totp: true }).api, {}, plus))).code).toBe("Access-Challenge");
    expect((await decide(req, deps(edge({ touch: "FAILED_DELIVERY", totp: false }).api, {}, plus))).code).toBe("Access-Reject");
    const mobile = edge({ touch: "FAILED_DELIVERY", sms: "SENT" });
    const d = await decide(req, deps(mobile.api, {}, config({ secondFactor: 8 })));
    expect(d).toMatchObject({ code: "Access-Challenge", replyMessage: "Enter the code sent to your phone by SMS" });
    expect(mobile.calls).toEqual(["touch", "sms"]);
  });

  it("an SMS OTP whose code the edge pushed to the app asks for the code from the app or the SMS (issue 14)", async () => {
    const e = edge({ touch: "FAILED_DELIVERY" });
    e.api.startSmsOtp = async () => ({ code: "SENT", challengeId: "c1", delivery: "app" });
    const d = deps(e.api, {}, config({ secondFactor: 8 }));
    const c = await decide(req, d);
    expect(c).toMatchObject({ code: "Access-Challenge", replyMessage: "Enter the code shown in your authenticator app or sent by SMS" });
    expect((await decide({ ...req, password: "123456", state: c.state! }, d)).code).toBe("Access-Accept");
    e.api.startSmsOtp = async () => ({ code: "SENT", challengeId: "c2", delivery: "sms" });
    expect((await decide(req, d)).replyMessage).toBe("Enter the code sent to your phone by SMS");
  });

  it("type 7 with the app: 'Phone not reachable, please sign <challenge>', verified with that challenge", async () => {
    const e = edge({ touch: "FAILED_DELIVERY", app: true, totp: true });
    const d = deps(e.api, {}, config({ secondFactor: "touch-plus" }));
    const c = await decide(req, d);
    expect(c.code).toBe("Access-Challenge");
    const challenge = c.replyMessage!.match(/^Phone not reachable, please sign (\d{6})$/)![1]!;
    expect((await decide({ ...req, password: "12345678", state: c.state! }, d)).code).toBe("Access-Accept");
    expect(e.calls).toContain(`verifyCr ${challenge} 12345678`);
    expect(e.calls).not.toContain("verifyTotp");
  });

  it("per-user and per-client methods beat the default", async () => {
    const e = edge({});
    const cfg = config({ users: { u: { msisdn: "+46700000003", secondFactor: "sms" } } });
    expect((await decide({ ...req, user: "u" }, deps(e.api, {}, cfg))).method).toBe("sms");
    expect((await decide({ ...req, clientSecondFactor: "sms" }, deps(e.api))).method).toBe("sms");
  });

  it("challenge round trip: State is single use and verified at the edge", async () => {
    const e = edge({ verify: "reject" });
    const d = deps(e.api, {}, config({ secondFactor: "sms" }));
    const c = await decide(req, d);
    expect(c.code).toBe("Access-Challenge");
    expect((await decide({ ...req, password: "123456", state: c.state! }, d)).code).toBe("Access-Reject");
    expect((await decide({ ...req, password: "123456", state: c.state! }, d)).reason).toBe("challenge state unknown");
  });

  it("fail mode applies only to edge outages, and is logged", async () => {
    const warned: string[] = [];
    const down = edge({ touch: new EdgeUnavailableError("timeout") });
    expect((await decide(req, deps(down.api, { warn: (ev) => warned.push(ev) }))).code).toBe("Access-Reject");
    expect((await decide(req, deps(down.api, {}, config({ failMode: "safe" })))).code).toBe("Access-Accept");
    expect(warned).toEqual(["edge_unavailable"]);
    const refused = edge({ touch: new Error("edge refused with 401") });
    await expect(decide(req, deps(refused.api, {}, config({ failMode: "safe" })))).rejects.toThrow(/401/);
  });
});

describe("config", () => {
  it("maps numeric types 6/7/8 and applies defaults", () => {
    const c = config({ secondFactor: 8 });
    expect(c.secondFactor).toBe("touch-mobile");
    expect(c.failMode).toBe("secure");
    expect(c.clients[0]!.requireMessageAuthenticator).toBe(true);
    expect(c.touchTimeoutSeconds).toBe(30);
  });
  it("names the bad field", () => {
    expect(() => config({ failMode: "open" })).toThrow(/failMode/);
    expect(() => config({ firstFactor: { type: "ldap", url: "ldap://x" } })).toThrow(/exactly one of bindDnTemplate or search/);
  });
});

describe("LDAP escaping", () => {
  it("escapes filter and DN metacharacters", () => {
    expect(escapeFilterValue("a*)(uid=*")).toBe("a\\2a\\29\\28uid=\\2a");
    expect(escapeDnValue("x,ou=admins")).toBe("x\\,ou\\=admins");
    expect(escapeDnValue(" lead")).toBe("\\ lead");
  });
});
