import { createSocket } from "node:dgram";
import { generate } from "otplib";
import radius from "radius";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EDGE_STATE_BYTES } from "../../core/contracts/relay-challenge.ts";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { startFakeSmsGateway } from "../../harness/fake-sms-gateway.ts";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";
import { waitForSms } from "../support/magic-link-user.ts";
import { accessRequest, radclient } from "../support/radclient.ts";
import { edgeDevArgs } from "../support/dev-vars.ts";

/**
 * Two relays behind one NAS (issue 12 item 3): FreeRADIUS's radclient -> relay A or relay B
 * (two relay processes, `npm run relay`) -> one edge (`npm run dev`) -> the fake SMS gateway.
 * The NAS fails over mid-login: the Access-Challenge comes from relay A, the answer with the
 * same State goes to relay B. The State is single use across both, bound to the user, the NAS
 * and the site.
 */
const SECRET = "radius-shared-secret";

let gateway: Awaited<ReturnType<typeof startFakeSmsGateway>>;
let dev: DevServer;
let relayA: RelayProcess;
let relayB: RelayProcess;
let branch: RelayProcess;
const extra: RelayProcess[] = [];
let relayConfig: (name: string, keyFile: string) => Record<string, unknown>;

/** One user per test (their own number), second factor SMS OTP or TOTP. */
const USERS = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [`sms-${i}`, { msisdn: `+467022310${String(i).padStart(2, "0")}`, secondFactor: "sms" }]),
);
USERS["totp-0"] = { msisdn: "+46702231100", secondFactor: "totp" };
const numberOf = (user: string) => (USERS[user] as { msisdn: string }).msisdn;

const request = accessRequest;

beforeAll(async () => {
  gateway = await startFakeSmsGateway();
  const [a, b, c, a2] = await Promise.all([relayKey(), relayKey(), relayKey(), relayKey()]);
  const edgeConfig = {
    rateLimit: { perMinute: 100, perHour: 1000 },
    endpoints: [{ name: "radius", timeoutSeconds: 30 }],
    relays: [
      { name: "hq-a", publicJwk: a.publicJwk, endpoint: "radius", site: "hq" },
      { name: "hq-b", publicJwk: b.publicJwk, endpoint: "radius", site: "hq" },
      { name: "hq-a2", publicJwk: a2.publicJwk, endpoint: "radius", site: "hq" },
      // The same endpoint, another site: its relays share nothing with hq's.
      { name: "branch", publicJwk: c.publicJwk, endpoint: "radius", site: "branch" },
    ],
  };
  dev = await startDevServer(edgeDevArgs(edgeConfig, gateway.url));
  relayConfig = (name, privateKeyFile) => ({
    // Every loopback address is the NAS's network (the wrong-NAS test sends from 127.0.0.2).
    clients: [{ name: "vpn", address: "127.0.0.0/8", secret: SECRET }],
    edge: { url: dev.url, relayName: name, privateKeyFile },
    firstFactor: { type: "none" },
    log: { level: "debug" },
    users: USERS,
  });
  [relayA, relayB, branch] = await Promise.all([
    startRelay(relayConfig("hq-a", a.privateKeyFile)),
    startRelay(relayConfig("hq-b", b.privateKeyFile)),
    startRelay(relayConfig("branch", c.privateKeyFile)),
  ]);
  extra.push(await startRelay(relayConfig("hq-a2", a2.privateKeyFile)));
}, 180_000);

afterAll(async () => {
  await Promise.all([relayA?.stop(), relayB?.stop(), branch?.stop(), ...extra.map((r) => r.stop()), dev?.stop()]);
  gateway?.server.close();
});

/** The first round on `relay`: the Access-Challenge's State and the code the SMS brought. */
async function smsChallenge(relay: RelayProcess, user: string, ...more: string[]) {
  const since = Date.now();
  const first = await radclient(relay.target, SECRET, request(user, "x", ...more));
  expect(first.code).toBe("Access-Challenge");
  expect(first.replyMessage).toBe("Enter the code sent to your phone by SMS");
  const code = (await waitForSms(gateway.requests, numberOf(user), 15_000, since)).match(/\d{6}/)?.[0];
  if (!first.state || !code) throw new Error("no State or no code");
  return { state: first.state, code };
}

describe("a NAS that fails over between two relays mid-login", () => {
  it("SMS OTP: challenged by relay A, answered on relay B with the same State; the State is then spent on both", async () => {
    const { state, code } = await smsChallenge(relayA, "sms-0");
    // The State is the edge's: an owner key and 256 random bits.
    expect(state).toMatch(new RegExp(`^0x[0-9a-f]{${EDGE_STATE_BYTES * 2}}$`));
    const answer = await radclient(relayB.target, SECRET, request("sms-0", code, `State = ${state}`));
    expect(answer.code).toBe("Access-Accept");
    await relayB.waitForLog((l) => l.event === "auth" && l.user === "sms-0" && l.reason === "sms code accepted");

    for (const relay of [relayA, relayB]) {
      const again = await radclient(relay.target, SECRET, request("sms-0", code, `State = ${state}`));
      expect(again.code).toBe("Access-Reject");
      await relay.waitForLog((l) => l.event === "auth" && l.user === "sms-0" && l.reason === "challenge state unknown");
    }
  });

  it("TOTP: challenged by relay B, answered on relay A", async () => {
    const res = await fetch(`${dev.url}/admin/v1/subscribers/${encodeURIComponent(numberOf("totp-0"))}/totp`, {
      method: "PUT",
      headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(201);
    const { secret } = (await res.json()) as { secret: string };
    const first = await radclient(relayB.target, SECRET, request("totp-0", "x"));
    expect(first.code).toBe("Access-Challenge");
    expect(first.replyMessage).toBe("Enter the code from your authenticator app");
    const answer = await radclient(relayA.target, SECRET, request("totp-0", await generate({ secret }), `State = ${first.state}`));
    expect(answer.code).toBe("Access-Accept");
  });

  it("relay A gone after the challenge: relay B still answers", async () => {
    const a2 = extra[0];
    if (!a2) throw new Error("no second relay");
    const { state, code } = await smsChallenge(a2, "sms-1");
    expect(await a2.stop("SIGTERM")).toBe(0);
    expect((await radclient(relayB.target, SECRET, request("sms-1", code, `State = ${state}`))).code).toBe("Access-Accept");
  });

  it("the answer from another NAS address is rejected, and the State is spent", async () => {
    const { state, code } = await smsChallenge(relayA, "sms-2");
    // The same client secret and network, but another NAS: the answer comes from 127.0.0.2.
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.2", r));
    const reply = new Promise<Buffer>((r) => sock.once("message", r));
    const packet = radius.encode({
      code: "Access-Request",
      secret: SECRET,
      identifier: 7,
      add_message_authenticator: true,
      attributes: [
        ["User-Name", "sms-2"],
        ["User-Password", code],
        ["State", Buffer.from(state.slice(2), "hex")],
      ],
    });
    sock.send(packet, relayB.port, "127.0.0.1");
    const got = await reply;
    sock.close();
    expect(radius.decode({ packet: got, secret: SECRET }).code).toBe("Access-Reject");
    await relayB.waitForLog((l) => l.event === "auth" && l.nas === "127.0.0.2" && l.reason === "challenge state mismatch");
    // The right NAS cannot use it afterwards either.
    expect((await radclient(relayB.target, SECRET, request("sms-2", code, `State = ${state}`))).code).toBe("Access-Reject");
  });

  it("another NAS-Identifier is another NAS: rejected", async () => {
    const { state, code } = await smsChallenge(relayA, "sms-3", 'NAS-Identifier = "vpn-1"');
    const other = await radclient(relayB.target, SECRET, request("sms-3", code, `State = ${state}`, 'NAS-Identifier = "vpn-2"'));
    expect(other.code).toBe("Access-Reject");
    // With the same NAS-Identifier it works on the other relay (a fresh challenge: the first is spent).
    const again = await smsChallenge(relayA, "sms-3", 'NAS-Identifier = "vpn-1"');
    expect(
      (await radclient(relayB.target, SECRET, request("sms-3", again.code, `State = ${again.state}`, 'NAS-Identifier = "vpn-1"'))).code,
    ).toBe("Access-Accept");
  });

  it("another user presenting the State is rejected", async () => {
    const { state, code } = await smsChallenge(relayA, "sms-4");
    expect((await radclient(relayB.target, SECRET, request("sms-5", code, `State = ${state}`))).code).toBe("Access-Reject");
    expect((await radclient(relayB.target, SECRET, request("sms-4", code, `State = ${state}`))).code).toBe("Access-Reject");
  });

  it("a relay of another site does not know the State (and cannot spend it)", async () => {
    const { state, code } = await smsChallenge(relayA, "sms-6");
    expect((await radclient(branch.target, SECRET, request("sms-6", code, `State = ${state}`))).code).toBe("Access-Reject");
    await branch.waitForLog((l) => l.event === "auth" && l.user === "sms-6" && l.reason === "challenge state unknown");
    expect((await radclient(relayB.target, SECRET, request("sms-6", code, `State = ${state}`))).code).toBe("Access-Accept");
  });

  it("logs carry no State and no code", () => {
    const text = relayA.output() + relayB.output() + branch.output();
    expect(text).toContain('"event":"auth"');
    expect(text).not.toMatch(/"state"/i);
    expect(text).not.toMatch(/[0-9a-f]{80}/);
  });
});
