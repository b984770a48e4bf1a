import { readFileSync } from "node:fs";
import { createSocket, type Socket } from "node:dgram";
import radius from "radius";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../harness/dev-server.ts";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { parseRelayConfig } from "../../relay/src/config.ts";
import { SMS_CODE, startFakeEdge, type FakeEdge } from "../support/fake-edge.ts";
import { accessRequest, radclient } from "../support/radclient.ts";

/**
 * `processes: 2` (relay/src/cluster.ts): a real relay process forks two workers that share the
 * UDP port (SO_REUSEPORT). NAS source ports spread over both; a retransmission reaches the
 * worker that holds it (one edge call, the cached reply); an Access-Challenge round trip works
 * (the State is kept at the edge, so any worker answers it); a worker that dies is forked
 * again; /metrics on the primary sums the workers. The edge is a stand-in HTTP server.
 */
const SECRET = "processes-secret";
const SMS_USER = "sms-user";

/** Touch users, each with a number. */
const TOUCH_USERS = [
  ...Array.from({ length: 24 }, (_, i) => `spread-${i}`),
  ...Array.from({ length: 24 }, (_, i) => `again-${i}`),
  "retransmit-user",
  "after-restart",
];

let edge: FakeEdge;
let relay: RelayProcess;
let adminUrl: string;

beforeAll(async () => {
  edge = await startFakeEdge();
  const key = await relayKey();
  const adminPort = await freePort();
  adminUrl = `http://127.0.0.1:${adminPort}`;
  relay = await startRelay({
    clients: [{ name: "vpn", address: "127.0.0.0/8", secret: SECRET }],
    edge: { url: edge.url, relayName: "multi", privateKeyFile: key.privateKeyFile },
    firstFactor: { type: "none" },
    log: { level: "debug" },
    processes: 2,
    admin: { listen: { port: adminPort } },
    users: {
      [SMS_USER]: { msisdn: "+46701234599", secondFactor: "sms" },
      ...Object.fromEntries(TOUCH_USERS.map((u, i) => [u, { msisdn: `+467012340${String(i).padStart(2, "0")}` }])),
    },
  });
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await edge?.stop();
});

/** A signed Access-Request as a NAS sends it (Message-Authenticator included). */
function packet(user: string, id: number): Buffer {
  return radius.encode({
    code: "Access-Request",
    secret: SECRET,
    identifier: id,
    add_message_authenticator: true,
    attributes: [
      ["User-Name", user],
      ["User-Password", "x"],
    ],
  });
}

/** A NAS socket: its own source port, the replies it received. */
async function nas(): Promise<{ socket: Socket; replies: Buffer[]; send: (p: Buffer) => void }> {
  const socket = createSocket("udp4");
  const replies: Buffer[] = [];
  socket.on("message", (m) => replies.push(m));
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  return { socket, replies, send: (p) => socket.send(p, relay.port, "127.0.0.1") };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; relay output:\n${relay.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const authLines = () => relay.logs().filter((l) => l.event === "auth");
const workerPids = (): number[] =>
  readFileSync(`/proc/${relay.pid}/task/${relay.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

describe("relay with processes: 2", () => {
  it("spreads NAS source ports over both workers, each answering its own", async () => {
    const before = authLines().length;
    const nasses = await Promise.all(Array.from({ length: 24 }, () => nas()));
    for (const [i, n] of nasses.entries()) n.send(packet(`spread-${i}`, i));
    await until(() => nasses.every((n) => n.replies.length === 1), "24 replies");
    for (const n of nasses) {
      expect(n.replies[0]?.[0]).toBe(2); // Access-Accept
      n.socket.close();
    }
    // Each auth line is written just after its reply's event-loop round (relay/src/log.ts).
    await until(() => authLines().length - before >= 24, "24 auth lines");
    const lines = authLines().slice(before);
    expect(lines).toHaveLength(24);
    const perWorker = new Map<unknown, number>();
    for (const l of lines) perWorker.set(l.worker, (perWorker.get(l.worker) ?? 0) + 1);
    expect([...perWorker.keys()].sort()).toEqual([1, 2]);
  });

  it("a retransmission (same id, authenticator and source port) gets the cached reply, never a second edge call", async () => {
    let release: (code: string) => void = () => undefined;
    edge.touchAnswer = () => new Promise<string>((r) => (release = r));
    try {
      const n = await nas();
      const p = packet("retransmit-user", 77);
      const touches = edge.touches.length;
      n.send(p);
      await until(() => edge.touches.length === touches + 1, "the Touch");
      const duplicates = (event: string) => relay.logs().filter((l) => l.event === event && l.id === 77).length;
      // While in flight: each copy absorbed (sent apart, so each meets a receiving worker anew).
      for (let i = 1; i <= 8; i++) {
        n.send(p);
        await until(() => duplicates("duplicate_in_flight") === i, "the in-flight duplicate");
      }
      release("TOUCH_ACCEPTED");
      await until(() => n.replies.length === 1, "the reply");
      // After the reply: the cached one again, each time.
      for (let i = 1; i <= 8; i++) {
        n.send(p);
        await until(() => n.replies.length === i + 1, "the cached reply");
        expect(n.replies[i]?.equals(n.replies[0] ?? Buffer.alloc(0))).toBe(true);
      }
      expect(edge.touches.length).toBe(touches + 1);
      const workers = relay
        .logs()
        .filter((l) => (l.event === "auth" && l.user === "retransmit-user") || (l.id === 77 && String(l.event).startsWith("duplicate_")))
        .map((l) => l.worker);
      expect(workers).toHaveLength(17);
      expect(new Set(workers).size).toBe(1);
      n.socket.close();
    } finally {
      edge.touchAnswer = () => "TOUCH_ACCEPTED";
    }
  });

  it("answers an Access-Challenge round (SMS OTP) whichever worker each round reaches", async () => {
    const first = await radclient(relay.target, SECRET, accessRequest(SMS_USER, "x"));
    expect(first.code).toBe("Access-Challenge");
    expect(first.state).toMatch(/^0x/);
    const second = await radclient(relay.target, SECRET, accessRequest(SMS_USER, SMS_CODE, `State = ${first.state}`));
    expect(second.code).toBe("Access-Accept");
    // The State is single use, whichever worker sees it next.
    const again = await radclient(relay.target, SECRET, accessRequest(SMS_USER, SMS_CODE, `State = ${first.state}`));
    expect(again.code).toBe("Access-Reject");
  });

  it("forks a worker again when one dies, and both serve afterwards", async () => {
    const pids = workerPids();
    expect(pids).toHaveLength(2);
    const victim = pids[0] ?? 0;
    process.kill(victim, "SIGKILL");
    await relay.waitForLog((l) => l.event === "worker_restarted");
    await until(() => workerPids().length === 2 && !workerPids().includes(victim), "a new worker");
    const ok = await radclient(relay.target, SECRET, accessRequest("after-restart", "x"));
    expect(ok.code).toBe("Access-Accept");
    const before = authLines().length;
    const nasses = await Promise.all(Array.from({ length: 24 }, () => nas()));
    for (const [i, n] of nasses.entries()) n.send(packet(`again-${i}`, i));
    await until(() => nasses.every((n) => n.replies.length === 1), "24 replies");
    for (const n of nasses) n.socket.close();
    await until(() => authLines().filter((l) => String(l.user).startsWith("again-")).length >= 24, "24 auth lines");
    expect(
      new Set(
        authLines()
          .slice(before)
          .map((l) => l.worker),
      ),
    ).toEqual(new Set([1, 2]));
  });

  it("serves /metrics on the primary with every worker's requests summed, and /healthz", async () => {
    const accepted = authLines().filter((l) => l.result === "Access-Accept").length;
    const text = await (await fetch(`${adminUrl}/metrics`)).text();
    const counted = [...text.matchAll(/^edge_mfa_relay_requests_total\{[^}]*result="Access-Accept"[^}]*\} (\d+)/gm)]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    // The worker killed above took its counters with it; the others are all there.
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(accepted);
    expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
  });
});

describe("processes config", () => {
  const base = {
    clients: [{ name: "vpn", address: "10.0.0.1", secret: "s" }],
    edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "k.pem" },
    firstFactor: { type: "none" },
  };
  it("defaults to 1", () => {
    expect(parseRelayConfig(base).processes).toBe(1);
  });
  it("refuses more than one process with local TOTP, naming the fields", () => {
    expect(() => parseRelayConfig({ ...base, processes: 2, localTokens: { dbFile: "t.db", keyFile: "t.key" } })).toThrow(
      /processes[\s\S]*localTokens/,
    );
    expect(parseRelayConfig({ ...base, processes: 2 }).processes).toBe(2);
  });
});
