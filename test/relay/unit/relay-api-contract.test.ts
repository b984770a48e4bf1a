import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELAY_API_BASE, RELAY_CALLS, WhoSchema, type RelayCall } from "../../../core/contracts/relay-api.ts";
import { EdgeClient } from "../../../relay/src/edge-client.ts";

/**
 * The relay speaks the relay API contract (core/contracts/relay-api.ts) that the edge
 * validates with: each call goes to RELAY_API_BASE + its path, with a body the edge's request
 * schema (and, for calls that name the user, the user schema) accepts, and a token bound to
 * that path. A fake edge records what arrives and answers per contract.
 */
const STATE = "ab".repeat(40);
const ANSWERS: Record<string, unknown> = {
  "/touch": { code: "TOUCH_ACCEPTED" },
  "/sms-otp": { code: "SENT", challengeId: "c1" },
  "/sms-otp/verify": { result: "accept" },
  "/totp/verify": { result: "reject" },
  "/challenge-response/verify": { result: "accept" },
  "/subscriber": { totp: true, app: false },
  "/challenge/issue": { state: STATE },
  "/challenge/redeem": { result: "ok", challenge: { username: "alice", msisdn: "+46701234567", method: "sms", challengeId: "c1" } },
};

describe("relay API contract, relay side", () => {
  let server: Server;
  let client: EdgeClient;
  const received: { path: string; body: string; htu: unknown }[] = [];

  beforeAll(async () => {
    server = createServer((rq, rs) => {
      let body = "";
      rq.on("data", (d) => (body += d));
      rq.on("end", () => {
        const path = rq.url ?? "";
        const token = rq.headers.authorization?.replace(/^Bearer /, "") ?? "";
        received.push({ path, body, htu: decodeJwt(token).htu });
        const answer = ANSWERS[path.slice(RELAY_API_BASE.length)];
        rs.writeHead(answer ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify(answer ?? { error: "no such call" }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new EdgeClient({ url, relayName: "r", key: (await generateKeyPair("ES256")).privateKey, timeoutMs: 2000 });
  });
  afterAll(() => void server.close());

  const who = { username: "alice", msisdn: "+46701234567" };

  it("every call reaches a contract path with a body the edge accepts", async () => {
    expect(await client.touch(who, 30)).toBe("TOUCH_ACCEPTED");
    expect(await client.startSmsOtp(who)).toEqual({ code: "SENT", challengeId: "c1" });
    expect(await client.verifySmsOtp(who, "c1", "123456")).toBe("accept");
    expect(await client.verifyTotp(who, "123456")).toBe("reject");
    expect(await client.verifyChallengeResponse(who, "482913", "12345678")).toBe("accept");
    expect(await client.hasTotp(who)).toBe(true);
    expect(await client.hasApp(who)).toBe(false);
    const nas = { address: "10.0.0.1", identifier: "vpn-1" };
    expect(await client.issueChallenge({ ...who, user: "Alice", nas, method: "sms", challengeId: "c1", ttlSeconds: 300 })).toBe(STATE);
    expect(await client.redeemChallenge({ state: STATE, user: "Alice", nas })).toMatchObject({
      result: "ok",
      challenge: { challengeId: "c1" },
    });

    const byPath = new Map<string, RelayCall>(Object.values(RELAY_CALLS).map((call) => [`${RELAY_API_BASE}${call.path}`, call]));
    expect(new Set(received.map((r) => r.path))).toEqual(new Set(byPath.keys()));
    for (const { path, body, htu } of received) {
      const call = byPath.get(path);
      if (!call) throw new Error(`not a contract path: ${path}`);
      expect(htu).toBe(path);
      const json: unknown = JSON.parse(body);
      expect(call.request.safeParse(json).success, `${path} request`).toBe(true);
      if (call.namesUser) expect(WhoSchema.safeParse(json).success, `${path} user`).toBe(true);
    }
  });
});
