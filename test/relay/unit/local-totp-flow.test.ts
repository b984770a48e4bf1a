import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "otplib";
import { describe, expect, it } from "vitest";
import { DEFAULT_TOTP } from "../../../core/otp.ts";
import { decide, type FlowDeps } from "../../../relay/src/auth-flow.ts";
import { EdgeChallengeStore } from "../../../relay/src/challenge-store.ts";
import { loadRelayConfig, parseRelayConfig } from "../../../relay/src/config.ts";
import { EdgeUnavailableError, type EdgeApi, type EdgeChallengeApi } from "../../../relay/src/edge-client.ts";
import type { FirstFactor } from "../../../relay/src/first-factor/types.ts";
import { createKeyFile, readKeyFile } from "../../../relay/src/local-totp/key-file.ts";
import { TokenStore } from "../../../relay/src/local-totp/token-store.ts";
import { LocalTotpVerifier } from "../../../relay/src/local-totp/verifier.ts";

/** The auth flow with local TOTP: which source a user gets, and that local logins never ask the edge. */
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const SEED = Uint8Array.from({ length: 20 }, (_, i) => i * 7);

/** An edge that cannot be reached; every call is recorded. */
function deadEdge() {
  const calls: string[] = [];
  const down = (name: string) => () => {
    calls.push(name);
    return Promise.reject(new EdgeUnavailableError("connect ECONNREFUSED"));
  };
  const api: EdgeApi & EdgeChallengeApi = {
    issueChallenge: down("issueChallenge"),
    redeemChallenge: down("redeemChallenge"),
    touch: down("touch"),
    startSmsOtp: down("sms"),
    verifySmsOtp: down("verifySms"),
    verifyTotp: down("verifyTotp"),
    hasTotp: down("hasTotp"),
    hasApp: down("hasApp"),
    verifyChallengeResponse: down("verifyCr"),
  };
  return { api, calls };
}

async function localStore(users: string[]): Promise<TokenStore> {
  const dir = mkdtempSync(join(tmpdir(), "local-totp-flow-"));
  createKeyFile(join(dir, "k"));
  const store = new TokenStore(join(dir, "db"), readKeyFile(join(dir, "k")));
  await store.add(
    users.map((username) => ({ username, seed: SEED, params: DEFAULT_TOTP, origin: "enrolled" as const })),
    T0,
  );
  return store;
}

const config = (over: Record<string, unknown> = {}) =>
  parseRelayConfig({
    clients: [{ name: "c", address: "127.0.0.1", secret: "s" }],
    edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/dev/null" },
    firstFactor: { type: "none" },
    localTokens: { dbFile: "/unused", keyFile: "/unused" },
    ...over,
  });
const pass: FirstFactor = { name: "t", verify: async () => ({ ok: true }) };

async function setup(over: Record<string, unknown>, users = ["alice"]) {
  const edge = deadEdge();
  const store = await localStore(users);
  const warnings: string[] = [];
  const deps: FlowDeps = {
    config: config(over),
    firstFactor: pass,
    edge: edge.api,
    // The relay's real store: edge challenges at the edge, local TOTP ones in this process.
    challenges: new EdgeChallengeStore(edge.api, 60),
    now: () => T0,
    warn: (event) => warnings.push(event),
    localTotp: new LocalTotpVerifier(store),
  };
  return { edge, deps, warnings };
}
const req = (user: string, password = "pw", state?: Buffer) => ({ user, password, source: "10.0.0.1", ...(state ? { state } : {}) });
const code = () => generate({ secret: SEED, epoch: Math.floor(T0 / 1000) });

describe("local TOTP in the auth flow", () => {
  it('"local": challenge, then the code, with no edge call and no phone number at all', async () => {
    const { edge, deps } = await setup({ secondFactor: "totp", totpSource: "local" });
    const first = await decide(req("Alice"), deps);
    expect(first).toMatchObject({ code: "Access-Challenge", replyMessage: "Enter the code from your authenticator app", method: "totp" });
    const answer = await decide(req("Alice", await code(), first.state), deps);
    expect(answer).toMatchObject({ code: "Access-Accept", reason: "local-totp code accepted" });
    // The same code with a new State: single use.
    const again = await decide(req("Alice"), deps);
    expect(await decide(req("Alice", await code(), again.state), deps)).toMatchObject({
      code: "Access-Reject",
      reason: "local-totp code replay",
    });
    expect(edge.calls).toEqual([]);
  });

  it('"local" without a local token rejects, without asking the edge', async () => {
    const { edge, deps } = await setup({ secondFactor: "totp", totpSource: "local" });
    expect(await decide(req("bob"), deps)).toMatchObject({ code: "Access-Reject", reason: "no local TOTP token enrolled" });
    expect(edge.calls).toEqual([]);
  });

  it('"both": the local token when the user has one, else the edge', async () => {
    const { edge, deps } = await setup({ secondFactor: "totp", totpSource: "both", usernameAsMsisdn: true, users: { "+46701234567": {} } });
    expect((await decide(req("alice"), deps)).code).toBe("Access-Challenge");
    expect(edge.calls).toEqual([]);
    // No local token: the edge is asked (and is down: fail mode secure).
    expect(await decide(req("+46701234567"), deps)).toMatchObject({
      code: "Access-Reject",
      reason: expect.stringMatching(/fail mode secure/),
    });
    expect(edge.calls).toEqual(["hasTotp"]);
  });

  it("user setting beats the client's, which beats the top level", async () => {
    const { edge, deps } = await setup(
      {
        secondFactor: "totp",
        totpSource: "local",
        users: { alice: { msisdn: "+46701234567", totpSource: "edge" }, "+46701234568": {} },
        usernameAsMsisdn: true,
      },
      ["alice", "+46701234568"],
    );
    await decide(req("alice"), deps);
    expect(edge.calls).toEqual(["hasTotp"]);
    // The client says edge, the top level local: the client wins.
    await decide({ ...req("+46701234568"), clientTotpSource: "edge" }, deps);
    expect(edge.calls).toEqual(["hasTotp", "hasTotp"]);
    // Neither user nor client: local.
    expect((await decide(req("+46701234568"), deps)).code).toBe("Access-Challenge");
    expect(edge.calls).toHaveLength(2);
  });

  it("Touch-Plus with the edge unreachable falls back to the local token (not to the fail mode)", async () => {
    const { edge, deps, warnings } = await setup({
      secondFactor: "touch-plus",
      totpSource: "local",
      failMode: "safe",
      users: { alice: { msisdn: "+46701234567" } },
    });
    const first = await decide(req("alice"), deps);
    expect(first).toMatchObject({
      code: "Access-Challenge",
      replyMessage: "Phone not reachable. Enter the code from your authenticator app",
    });
    expect(warnings).toEqual(["edge_unavailable"]);
    expect((await decide(req("alice", "000000", first.state), deps)).code).toBe("Access-Reject");
    expect(edge.calls).toEqual(["touch"]);
  });

  it("Touch-Plus, edge unreachable, no local token: the fail mode decides as before", async () => {
    const { deps } = await setup({ secondFactor: "touch-plus", totpSource: "local", users: { bob: { msisdn: "+46701234567" } } });
    expect(await decide(req("bob"), deps)).toMatchObject({ code: "Access-Reject", reason: expect.stringMatching(/fail mode secure/) });
  });

  it("a locked token tells the user to wait", async () => {
    const { deps } = await setup({ secondFactor: "totp", totpSource: "local" });
    const results = [];
    for (let i = 0; i < 6; i++) {
      const c = await decide(req("alice"), deps);
      results.push(await decide(req("alice", "99999x", c.state), deps));
    }
    expect(results.at(-1)).toMatchObject({
      code: "Access-Reject",
      reason: "local-totp code locked",
      replyMessage: "Too many wrong codes; try again later",
    });
  });
});

describe("local TOTP config", () => {
  it("the example config loads, with local tokens", () => {
    const example = loadRelayConfig("relay/relay.example.json");
    expect(example).toMatchObject({ totpSource: "both", users: { "lab-operator": { totpSource: "local" } } });
    expect(example.localTokens?.keyFile).toMatch(/tokens\.key$/);
  });

  it("defaults to the edge", () => {
    expect(config({ localTokens: undefined }).totpSource).toBe("edge");
  });

  it.each([
    [{ totpSource: "local" }, /"local" needs "localTokens"[\s\S]*at totpSource/],
    [
      { clients: [{ name: "c", address: "127.0.0.1", secret: "s", totpSource: "both" }] },
      /"both" needs "localTokens"[\s\S]*at clients\[0\]\.totpSource/,
    ],
    [{ users: { alice: { totpSource: "local" } } }, /"local" needs "localTokens"[\s\S]*at users\.alice\.totpSource/],
    [{ totpSource: "cloud" }, /totpSource/],
  ])("names the field: %j", (over, error) => {
    expect(() => config({ localTokens: undefined, ...over })).toThrow(error);
  });
});
