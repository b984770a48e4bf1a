import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { RESULT_CODES, normalizeUsername } from "../../../core/contracts/relay.ts";
import { decide, type FlowDeps } from "../../../relay/src/auth-flow.ts";
import { LocalChallengeStore } from "../../../relay/src/challenge-store.ts";
import { parseRelayConfig } from "../../../relay/src/config.ts";
import { classifyEdgeResponse } from "../../../relay/src/edge-response.ts";
import {
  EdgeClient,
  EdgeRejectedError,
  EdgeUnavailableError,
  type EdgeApi,
  type TouchCode,
  type Who,
} from "../../../relay/src/edge-client.ts";
import type { FirstFactor } from "../../../relay/src/first-factor/types.ts";
import { jsonLogger } from "../../../relay/src/log.ts";
import { TOUCH_REPLIES } from "../../../relay/src/touch-replies.ts";

/** Issue 10, items 1-6 on the relay side: pure logic, plus EdgeClient against a real local HTTP server. */
const base = {
  clients: [{ name: "c", address: "127.0.0.1", secret: "s" }],
  edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/dev/null" },
};
const config = (over: Record<string, unknown> = {}) => parseRelayConfig({ ...base, firstFactor: { type: "none" }, ...over });

function recordingEdge(touch: TouchCode | Error = "TOUCH_ACCEPTED") {
  const seen: Array<{ op: string; who: Who }> = [];
  const rec = <T>(op: string, who: Who, v: T | Error): Promise<T> => (
    seen.push({ op, who }), v instanceof Error ? Promise.reject(v) : Promise.resolve(v)
  );
  const api: EdgeApi = {
    touch: (w) => rec("touch", w, touch),
    startSmsOtp: (w) => rec("sms", w, { code: "SENT" as const, challengeId: "c1" }),
    verifySmsOtp: (w) => rec("verifySms", w, "accept" as const),
    verifyTotp: (w) => rec("verifyTotp", w, "accept" as const),
    hasTotp: (w) => rec("hasTotp", w, true),
    hasApp: (w) => rec("hasApp", w, false),
    verifyChallengeResponse: (w) => rec("verifyCr", w, "accept" as const),
  };
  return { api, seen };
}
const none: FirstFactor = { name: "none", verify: async () => ({ ok: true }) };
const deps = (edge: EdgeApi, cfg = config(), over: Partial<FlowDeps> = {}): FlowDeps => ({
  config: cfg,
  firstFactor: none,
  edge,
  challenges: new LocalChallengeStore(60_000),
  now: () => 0,
  warn: () => {},
  ...over,
});
const req = (user: string) => ({ user, password: "pw", source: "10.0.0.1" });

describe("the user's key is the directory's account name, not the name typed", () => {
  it("pins, the users map and the challenge answer all use the account a first factor reports", async () => {
    const e = recordingEdge();
    // A directory that finds alice's account under her mail address too (and vouches for her).
    const directory: FirstFactor = {
      name: "ldap",
      vouchesForUser: true,
      verify: async () => ({ ok: true, msisdn: "+46701230001", user: "alice" }),
    };
    const d = deps(e.api, config({ users: { alice: { secondFactor: "totp" } } }), { firstFactor: directory });
    const first = await decide(req("alice@example.com"), d);
    // alice's users entry (TOTP) applies, and the edge is asked for alice (her pin), not a new key.
    expect(first).toMatchObject({ code: "Access-Challenge", method: "totp" });
    await decide({ ...req("alice@example.com"), password: "123456", state: first.state! }, d);
    expect(e.seen.map((s) => [s.op, s.who.username])).toEqual([
      ["hasTotp", "alice"],
      ["verifyTotp", "alice"],
    ]);
  });
});

describe("safe defaults (item 2)", () => {
  it("a config without firstFactor does not load, and says what to write", () => {
    expect(() => parseRelayConfig(base)).toThrow(/firstFactor is required[\s\S]*\{"type":"none"\}/);
    expect(config().firstFactor).toEqual({ type: "none" });
  });

  it("the edge only over https (its answers are unsigned: TLS makes them the edge's); plain http only to loopback", () => {
    const at = (url: string) => config({ edge: { ...base.edge, url } });
    expect(() => at("http://mfa.example.com")).toThrow(/edge.url must be an https:\/\/ URL/);
    expect(() => at("http://10.0.0.5:8787")).toThrow(/edge.url must be an https:\/\/ URL/);
    // A name under .localhost is looked up by the system's resolver, which may send it anywhere.
    expect(() => at("http://edge.localhost:8787")).toThrow(/edge.url must be an https:\/\/ URL/);
    for (const url of ["https://mfa.example.com", "http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"]) {
      expect(at(url).edge.url).toBe(url);
    }
  });

  it("an E.164 username is not a phone number unless opted in, and then only for known users", async () => {
    const e = recordingEdge();
    expect(config().usernameAsMsisdn).toBe(false);
    expect((await decide(req("+46701234567"), deps(e.api))).reason).toBe("no phone number for user");
    // Opted in, but first factor "none" knows nobody: a stranger's own number is still refused.
    expect((await decide(req("+46701234567"), deps(e.api, config({ usernameAsMsisdn: true })))).reason).toBe("no phone number for user");
    // Known through the users map (no number there) or a directory that checked the password.
    expect(
      (
        await decide(
          req("+46701234567"),
          deps(e.api, config({ usernameAsMsisdn: true, users: { "+46701234567": { secondFactor: "touch" } } })),
        )
      ).code,
    ).toBe("Access-Accept");
    const dir: FirstFactor = { name: "ldap", vouchesForUser: true, verify: async () => ({ ok: true }) };
    expect((await decide(req("+46701234568"), deps(e.api, config({ usernameAsMsisdn: true }), { firstFactor: dir }))).code).toBe(
      "Access-Accept",
    );
    expect(e.seen.map((s) => s.who.msisdn)).toEqual(["+46701234567", "+46701234568"]);
  });
});

describe("users map matches usernames like the directory (item 5)", () => {
  it("SVC-BACKUP gets svc-backup's second factor and number", async () => {
    const e = recordingEdge();
    const cfg = config({ users: { "svc-backup": { msisdn: "+46701234567", secondFactor: "totp" } } });
    for (const user of ["SVC-BACKUP", " Svc-Backup", "svc-backup"]) {
      const d = await decide(req(user), deps(e.api, cfg));
      expect(d).toMatchObject({ code: "Access-Challenge", method: "totp" });
    }
    // The edge gets the normalised username (its pin key) every time.
    expect(new Set(e.seen.map((s) => `${s.who.username} ${s.who.msisdn}`))).toEqual(new Set(["svc-backup +46701234567"]));
  });

  it("refuses a users map with two spellings of one user", () => {
    expect(() => config({ users: { Alice: { msisdn: "+46701234567" }, alice: { msisdn: "+46701234568" } } })).toThrow(/same user/);
  });

  it("normalizeUsername trims and case-folds, nothing more", () => {
    expect(normalizeUsername("  SVC-Backup\t")).toBe("svc-backup");
    expect(normalizeUsername("CORP\\Alice")).toBe("corp\\alice");
    expect(normalizeUsername("Alice@Corp.Example")).toBe("alice@corp.example");
  });
});

describe("every Touch result code has a RADIUS reply (item 4)", () => {
  it("maps each code to Accept, Reject with a Reply-Message, or the fallback", async () => {
    for (const code of RESULT_CODES) {
      const d = await decide(req("u"), deps(recordingEdge(code).api, config({ users: { u: { msisdn: "+46701234567" } } })));
      expect(["Access-Accept", "Access-Reject"]).toContain(d.code);
      if (d.code === "Access-Reject" && code !== "FAILED_DELIVERY") expect(d.replyMessage).toBeTruthy();
    }
    expect(TOUCH_REPLIES.INVALID_APPROVER).toMatchObject({ code: "Access-Reject", replyMessage: "The approver could not be asked" });
    expect(TOUCH_REPLIES.NO_APPROVER_SELECTED).toMatchObject({ code: "Access-Reject", replyMessage: "No approver was selected" });
  });
});

describe("fail mode means 'edge unreachable', nothing else (item 3)", () => {
  const Touch = z.object({ code: z.enum(RESULT_CODES) });
  it.each([
    ["missing radius endpoint", 500, '{"error":"relay endpoint \\"radius\\" is not configured"}'],
    ["invalid MFA_CONFIG", 500, '{"error":"service misconfigured"}'],
    ["rotated SEED_ENCRYPTION_KEY (openSeed throws)", 500, '{"error":"internal error"}'],
    ["validation error", 400, '{"error":"invalid request","issues":["msisdn: …"]}'],
    ["overloaded Subscriber", 503, '{"error":"internal error"}'],
    ["overload refusal", 503, '{"code":"BAD_REQUEST"}'],
    ["a proxy's error page", 502, "<html>Bad gateway</html>"],
    ["unauthorized", 401, '{"error":"unauthorized","reason":"invalid token"}'],
  ])("%s (%i) is a refusal", (_what, status, body) => {
    expect(classifyEdgeResponse(status, body, Touch).kind).toBe("refused");
  });

  it("2xx that is not JSON or not the promised shape is a refusal; the explicit 503 is unavailable", () => {
    expect(classifyEdgeResponse(200, "ok", Touch).kind).toBe("refused");
    expect(classifyEdgeResponse(200, '{"code":"MAYBE"}', Touch).kind).toBe("refused");
    expect(classifyEdgeResponse(200, '{"valid":true}', Touch).kind).toBe("refused");
    expect(classifyEdgeResponse(200, '{"code":"TOUCH_ACCEPTED"}', Touch)).toEqual({ kind: "ok", value: { code: "TOUCH_ACCEPTED" } });
    expect(classifyEdgeResponse(503, '{"error":"edge_unavailable"}', Touch).kind).toBe("unavailable");
    expect(classifyEdgeResponse(500, '{"error":"edge_unavailable"}', Touch).kind).toBe("refused");
    expect(classifyEdgeResponse(409, '{"error":"number_changed"}', Touch)).toMatchObject({ kind: "refused", error: "number_changed" });
  });

  it("a refusal rejects even with failMode safe; number_changed is logged as such", async () => {
    const safe = config({ failMode: "safe", users: { u: { msisdn: "+46701234567" } } });
    const refused = await decide(req("u"), deps(recordingEdge(new EdgeRejectedError("edge answered 500")).api, safe));
    expect(refused).toMatchObject({ code: "Access-Reject" });
    expect(refused.reason).toMatch(/^edge refused/);
    const changed = await decide(req("u"), deps(recordingEdge(new EdgeRejectedError("409", "number_changed")).api, safe));
    expect(changed).toMatchObject({ code: "Access-Reject", reason: "number_changed" });
    expect((await decide(req("u"), deps(recordingEdge(new EdgeUnavailableError("timeout")).api, safe))).code).toBe("Access-Accept");
  });
});

describe("EdgeClient against a real HTTP server (items 3 and 6)", () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: string; delayMs?: number } = { status: 200, body: '{"code":"TOUCH_ACCEPTED"}' };
  const seen: Array<{ auth: string; body: string }> = [];
  let client: EdgeClient;

  beforeAll(async () => {
    server = createServer((rq, rs) => {
      let body = "";
      rq.on("data", (d) => (body += d));
      rq.on("end", () => {
        seen.push({ auth: rq.headers.authorization ?? "", body });
        setTimeout(() => rs.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body), answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    client = new EdgeClient({ url, relayName: "r", key: (await generateKeyPair("ES256")).privateKey, timeoutMs: 500 });
  });
  afterAll(() => void server.close());
  const who = { username: "alice", msisdn: "+46701234567" };

  it("classifies transport failures as unavailable and every edge refusal as rejected", async () => {
    answer = { status: 500, body: '{"error":"service misconfigured"}' };
    await expect(client.verifyTotp(who, "123456")).rejects.toBeInstanceOf(EdgeRejectedError);
    answer = { status: 200, body: '{"result":"yes"}' };
    await expect(client.verifyTotp(who, "123456")).rejects.toBeInstanceOf(EdgeRejectedError);
    answer = { status: 503, body: '{"error":"edge_unavailable"}' };
    await expect(client.verifyTotp(who, "123456")).rejects.toBeInstanceOf(EdgeUnavailableError);
    answer = { status: 200, body: '{"result":"accept"}', delayMs: 1500 };
    await expect(client.verifyTotp(who, "123456")).rejects.toThrow(/timed out/);
    const dead = new EdgeClient({
      url: "http://127.0.0.1:9",
      relayName: "r",
      key: (await generateKeyPair("ES256")).privateKey,
      timeoutMs: 500,
    });
    await expect(dead.verifyTotp(who, "123456")).rejects.toBeInstanceOf(EdgeUnavailableError);
  });

  it("sends the normalised username with the number, and a token for the edge's origin", async () => {
    answer = { status: 200, body: '{"result":"accept"}' };
    expect(await client.verifyTotp(who, "123456")).toBe("accept");
    const last = seen.at(-1)!;
    expect(JSON.parse(last.body)).toEqual({ username: "alice", msisdn: "+46701234567", code: "123456" });
    const claims = JSON.parse(Buffer.from(last.auth.split(".")[1]!, "base64url").toString()) as { aud: string; jti: string };
    expect(claims.aud).toBe(new URL(url).origin);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("the relay's log lines are redacted like the edge's", () => {
  it("masks passwords, bearer tokens and long tokens in any field, keeps the event readable", () => {
    const lines: string[] = [];
    const log = jsonLogger("debug", (line) => lines.push(line));
    const token = "Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd";
    log.log("warn", "edge_refused", {
      error: `LDAP said: bind failed for password=hunter2 (Authorization: Bearer ${token})`,
      user: "alice",
    });
    const line = lines.join("\n");
    expect(line).not.toContain("hunter2");
    expect(line).not.toContain(token);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed.event).toBe("edge_refused");
    expect(parsed.user).toBe("alice");
    expect(parsed.error).toContain("[redacted]");
  });
});

describe("upstream RADIUS: a forged reply does not end the exchange", () => {
  it("a reply with the right identifier but without the secret is ignored; the real one decides", async () => {
    const { createSocket } = await import("node:dgram");
    const radius = (await import("radius")).default;
    const { RadiusFirstFactor } = await import("../../../relay/src/first-factor/radius-upstream.ts");
    const secret = "upstream-secret";
    const upstream = createSocket("udp4");
    upstream.on("message", (msg, rinfo) => {
      const req = radius.decode({ packet: msg, secret });
      // Someone spraying the relay's port first: same identifier, signed with a guess.
      const forged = radius.encode_response({ packet: req, code: "Access-Reject", secret: "not-the-secret" });
      upstream.send(forged, rinfo.port, rinfo.address, () => {
        setTimeout(
          () => upstream.send(radius.encode_response({ packet: req, code: "Access-Accept", secret }), rinfo.port, rinfo.address),
          20,
        );
      });
    });
    await new Promise<void>((r) => upstream.bind(0, "127.0.0.1", r));
    try {
      const ff = new RadiusFirstFactor({
        type: "radius",
        host: "127.0.0.1",
        port: upstream.address().port,
        secret,
        timeoutMs: 1000,
        retries: 0,
      });
      expect(await ff.verify("bob", "bob-password")).toEqual({ ok: true });
    } finally {
      await new Promise<void>((r) => upstream.close(() => r()));
    }
  });
});
