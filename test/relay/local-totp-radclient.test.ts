import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { accessRequest, radclient } from "../support/radclient.ts";
import { startUpstreamRadius } from "../support/upstream-radius.ts";

/**
 * On-prem TOTP with no internet: FreeRADIUS's radclient -> the relay as installed, whose edge
 * URL points at a closed port, with an upstream RADIUS server as first factor. Tokens are
 * enrolled with the relay's own CLI; codes come from otplib as an authenticator app makes them.
 */
const SECRET = "radius-shared-secret";
const UPSTREAM_SECRET = "upstream-secret";
const DEAD_EDGE = "http://127.0.0.1:9";
const node = join(process.cwd(), "node_modules", ".bin", "node");

let upstream: Awaited<ReturnType<typeof startUpstreamRadius>>;
let relay: RelayProcess;
let config: Record<string, unknown>;
const secrets: Record<string, string> = {};

const request = accessRequest;
const codeOf = (user: string) => generate({ secret: secrets[user] ?? "", epoch: Math.floor(Date.now() / 1000) });
/** Any six digits but the current code. */
const wrongCodeOf = async (user: string) => String((Number(await codeOf(user)) + 500_000) % 1_000_000).padStart(6, "0");

/** Password, then the code in answer to the challenge (with its State). */
async function login(user: string, code: string | Promise<string>) {
  const first = await radclient(relay.target, SECRET, request(user, `${user}-password`));
  expect(first.code).toBe("Access-Challenge");
  return { first, second: await radclient(relay.target, SECRET, request(user, await code, `State = ${first.state}`)) };
}

beforeAll(async () => {
  upstream = await startUpstreamRadius(UPSTREAM_SECRET, {
    alice: "alice-password",
    bob: "bob-password",
    carol: "carol-password",
    dave: "dave-password",
  });
  const dir = mkdtempSync(join(tmpdir(), "local-totp-e2e-"));
  const localTokens = { dbFile: join(dir, "tokens.db"), keyFile: join(dir, "tokens.key") };
  const cli = (...args: string[]) => {
    const r = spawnSync(
      node,
      ["relay/bin/edge-mfa-relay.mjs", "tokens", ...args, "--db", localTokens.dbFile, "--key", localTokens.keyFile],
      {
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };
  cli("keygen");
  for (const user of ["alice", "bob", "carol", "dave"]) {
    const secret = cli("enrol", user).match(/^secret: ([A-Z2-7]+)$/m)?.[1];
    if (!secret) throw new Error("enrol printed no secret");
    secrets[user] = secret;
  }
  config = {
    clients: [{ name: "vpn", address: "127.0.0.1", secret: SECRET }],
    edge: { url: DEAD_EDGE, relayName: "air-gapped", privateKeyFile: (await relayKey()).privateKeyFile, timeoutMs: 2000 },
    firstFactor: { type: "radius", host: "127.0.0.1", port: upstream.port, secret: UPSTREAM_SECRET },
    secondFactor: "totp",
    totpSource: "local",
    localTokens,
    // Touch-Plus: the edge cannot be reached, so neither can the phone: the local token instead.
    users: { carol: { msisdn: "+46701234599", secondFactor: "touch-plus" } },
    log: { level: "debug" },
  };
  relay = await startRelay(config);
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await upstream?.stop();
});

describe("local TOTP with the edge unreachable", () => {
  it("password, challenge, the code: Access-Accept; the same code again: Access-Reject", async () => {
    const code = await codeOf("alice");
    const { first, second } = await login("alice", code);
    expect(first.replyMessage).toBe("Enter the code from your authenticator app");
    expect(second.code).toBe("Access-Accept");
    const replay = await login("alice", code);
    expect(replay.second.code).toBe("Access-Reject");
    expect(replay.second.replyMessage).toBe("Wrong or expired code");
    // Not one edge call: nothing was refused for want of the edge.
    expect(relay.logs().filter((l) => l.event === "edge_unavailable")).toEqual([]);
  });

  it("a wrong password gets no challenge", async () => {
    const r = await radclient(relay.target, SECRET, request("alice", "wrong"));
    expect(r.code).toBe("Access-Reject");
    expect(r.state).toBeNull();
  });

  it("wrong codes lock the token: then even the right code is refused", async () => {
    for (let i = 0; i < 5; i++) expect((await login("bob", wrongCodeOf("bob"))).second.code).toBe("Access-Reject");
    await relay.waitForLog((l) => l.event === "local_totp_locked" && l.username === "bob");
    const locked = await login("bob", codeOf("bob"));
    expect(locked.second.code).toBe("Access-Reject");
    expect(locked.second.replyMessage).toBe("Too many wrong codes; try again later");
  });

  it("Touch-Plus falls back to the local token when the edge cannot be reached", async () => {
    const { first, second } = await login("carol", codeOf("carol"));
    expect(first.replyMessage).toBe("Phone not reachable. Enter the code from your authenticator app");
    expect(second.code).toBe("Access-Accept");
    await relay.waitForLog((l) => l.event === "edge_unavailable" && l.fallback === "local-totp");
  });

  it("after a restart: the used code stays used and the lock stays", async () => {
    // A code used just now (dave's first): a code taken from an earlier test could belong to a
    // time step that has passed since, and so never have been used.
    const code = await codeOf("dave");
    expect((await login("dave", code)).second.code).toBe("Access-Accept");
    await relay.stop();
    relay = await startRelay(config);
    expect((await login("dave", code)).second.code).toBe("Access-Reject");
    expect((await login("bob", codeOf("bob"))).second.replyMessage).toBe("Too many wrong codes; try again later");
  });

  it("logs carry no codes, passwords or seeds", () => {
    const text = relay.output();
    expect(text).toContain('"event":"auth"');
    expect(text).not.toMatch(/-password/);
    for (const s of Object.values(secrets)) expect(text).not.toContain(s);
  });
});
