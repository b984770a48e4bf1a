import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import radius from "radius";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../harness/dev-server.ts";
import { freeUdpPort, relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { startFakeEdge, type FakeEdge, type TouchAnswer } from "../support/fake-edge.ts";
import { SIGNED, radclient } from "../support/radclient.ts";
import { startUpstreamAccounting, type UpstreamAccounting } from "../support/upstream-accounting.ts";

/**
 * The relay as operators run it: real relay processes (relay/bin) driven by radclient, their
 * admin port read with curl, a stand-in edge that can hold a Touch or go away, and an upstream
 * accounting server. Covers /metrics, /healthz, Accounting and SIGHUP reload.
 */
const SECRET = "ops-shared-secret";
const UPSTREAM_SECRET = "upstream-acct-secret";
const USERS = {
  alice: { msisdn: "+46701110001" },
  bob: { msisdn: "+46701110002" },
  dave: { msisdn: "+46701110003" },
  carol: { msisdn: "+46701110004" },
};
const login = (user: string) => [`User-Name = "${user}"`, `User-Password = "x"`, SIGNED];
const acct = (user: string, session: string, type = "Start") => [
  `User-Name = "${user}"`,
  `Acct-Status-Type = ${type}`,
  `Acct-Session-Id = "${session}"`,
  "NAS-Port = 7",
];

let edge: FakeEdge;
let upstream: UpstreamAccounting;
let relay: RelayProcess;
let plain: RelayProcess;
let adminUrl: string;
let acctTarget: string;
let plainAcctTarget: string;
let base: Record<string, unknown>;

beforeAll(async () => {
  [edge, upstream] = await Promise.all([startFakeEdge(), startUpstreamAccounting(UPSTREAM_SECRET)]);
  const key = await relayKey();
  base = {
    clients: [{ name: "vpn", address: "127.0.0.1", secret: SECRET }],
    edge: { url: edge.url, relayName: "ops-relay", privateKeyFile: key.privateKeyFile, timeoutMs: 2000 },
    firstFactor: { type: "none" },
    touchTimeoutSeconds: 15,
    users: USERS,
    log: { level: "debug" },
  };
  const [adminPort, acctPort, plainAcctPort] = [await freePort(), await freeUdpPort(), await freeUdpPort()];
  adminUrl = `http://127.0.0.1:${adminPort}`;
  acctTarget = `127.0.0.1:${acctPort}`;
  plainAcctTarget = `127.0.0.1:${plainAcctPort}`;
  [relay, plain] = await Promise.all([
    startRelay({
      ...base,
      admin: { listen: { port: adminPort }, healthCacheSeconds: 1 },
      accounting: {
        port: acctPort,
        forward: { host: "127.0.0.1", port: upstream.port, secret: UPSTREAM_SECRET, timeoutMs: 300, retries: 1 },
      },
    }),
    startRelay({ ...base, accounting: { port: plainAcctPort } }),
  ]);
  await relay.waitForLog((l) => l.event === "admin_listening");
}, 60_000);

afterAll(async () => {
  await Promise.all([relay?.stop(), plain?.stop()]);
  await Promise.all([edge?.stop(), upstream?.stop()]);
});

/** curl, as an operator or Prometheus would: status and body. */
async function curl(url: string, method = "GET"): Promise<{ status: number; body: string }> {
  const child = spawn("curl", ["-s", "-X", method, "-w", "\n%{http_code}", url]);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await new Promise((r) => child.on("close", r));
  const cut = out.lastIndexOf("\n");
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

/** The value of one series in Prometheus text format: `name` with exactly these labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v))
      return Number(m[3]);
  }
  return undefined;
}

const metrics = async () => {
  const r = await curl(`${adminUrl}/metrics`);
  expect(r.status).toBe(200);
  return r.body;
};

async function until<T>(what: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Holds the edge's Touch answers for this number until release() is called; others are accepted. */
function holdTouches(msisdn: string): (answer?: TouchAnswer) => void {
  let release: (answer: TouchAnswer) => void = () => undefined;
  const gate = new Promise<TouchAnswer>((r) => (release = r));
  edge.touchAnswer = (body) => (body.msisdn === msisdn ? gate : "TOUCH_ACCEPTED");
  return (code = "TOUCH_ACCEPTED") => {
    edge.touchAnswer = () => "TOUCH_ACCEPTED";
    release(code);
  };
}

describe("/metrics", () => {
  it("counts a login by client, transport, method and result, with its latency and the edge call", async () => {
    const before = await metrics();
    const key = { client: "vpn", transport: "udp", method: "touch", result: "Access-Accept" };
    const n0 = sample(before, "edge_mfa_relay_requests_total", key) ?? 0;
    expect((await radclient(relay.target, SECRET, login("alice"))).code).toBe("Access-Accept");
    const after = await metrics();
    expect(sample(after, "edge_mfa_relay_requests_total", key)).toBe(n0 + 1);
    expect(sample(after, "edge_mfa_relay_request_duration_seconds_count", { method: "touch", result: "Access-Accept" })).toBe(n0 + 1);
    expect(sample(after, "edge_mfa_relay_request_duration_seconds_bucket", { method: "touch", result: "Access-Accept", le: "15" })).toBe(
      n0 + 1,
    );
    expect(sample(after, "edge_mfa_relay_edge_call_duration_seconds_count", { call: "touch" })).toBeGreaterThanOrEqual(n0 + 1);
    // Default process metrics, in the relay's own registry.
    expect(sample(after, "edge_mfa_relay_process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(after).toContain("# TYPE edge_mfa_relay_requests_in_flight gauge");
  });

  it("counts edge refusals and a reject, and never labels by user or phone number", async () => {
    edge.touchAnswer = (body) => (body.msisdn === USERS.dave.msisdn ? { status: 500, body: { error: "misconfigured" } } : "TOUCH_ACCEPTED");
    expect((await radclient(relay.target, SECRET, login("dave"))).code).toBe("Access-Reject");
    edge.touchAnswer = () => "TOUCH_ACCEPTED";
    const text = await metrics();
    expect(sample(text, "edge_mfa_relay_edge_call_errors_total", { call: "touch", kind: "refused" })).toBe(1);
    expect(
      sample(text, "edge_mfa_relay_requests_total", { client: "vpn", transport: "udp", method: "touch", result: "Access-Reject" }),
    ).toBe(1);
    expect(text).not.toContain("alice");
    expect(text).not.toContain("dave");
    expect(text).not.toContain("+4670");
    expect(text).not.toContain("127.0.0.1");
  });

  it("counts retransmissions absorbed: a duplicate while in flight, then the cached reply resent", async () => {
    const m0 = await metrics();
    const inFlight0 = sample(m0, "edge_mfa_relay_retransmits_absorbed_total", { kind: "in_flight" }) ?? 0;
    const cached0 = sample(m0, "edge_mfa_relay_retransmits_absorbed_total", { kind: "cached" }) ?? 0;
    const release = holdTouches(USERS.bob.msisdn);
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const replies: Buffer[] = [];
    sock.on("message", (m) => replies.push(m));
    const packet = radius.encode({
      code: "Access-Request",
      secret: SECRET,
      identifier: 17,
      add_message_authenticator: true,
      attributes: [
        ["User-Name", "bob"],
        ["User-Password", "x"],
      ],
    });
    const touches = edge.touches.length;
    sock.send(packet, relay.port, "127.0.0.1");
    await until(
      () => edge.touches.length,
      (n) => n > touches,
    );
    expect(sample(await metrics(), "edge_mfa_relay_retransmit_cache_entries")).toBeGreaterThanOrEqual(1);
    sock.send(packet, relay.port, "127.0.0.1"); // the NAS retransmits while the user decides
    await until(metrics, (t) => sample(t, "edge_mfa_relay_retransmits_absorbed_total", { kind: "in_flight" }) === inFlight0 + 1);
    release();
    await until(
      () => replies.length,
      (n) => n === 1,
    );
    sock.send(packet, relay.port, "127.0.0.1"); // our reply was lost: the cache answers
    await until(
      () => replies.length,
      (n) => n === 2,
    );
    sock.close();
    expect(replies[1]?.equals(replies[0] ?? Buffer.alloc(0))).toBe(true);
    expect(edge.touches.length).toBe(touches + 1); // one Touch for three copies
    const m1 = await metrics();
    expect(sample(m1, "edge_mfa_relay_retransmits_absorbed_total", { kind: "in_flight" })).toBe(inFlight0 + 1);
    expect(sample(m1, "edge_mfa_relay_retransmits_absorbed_total", { kind: "cached" })).toBe(cached0 + 1);
  });

  it("counts dropped packets by reason", async () => {
    const t0 = await metrics();
    const bad0 = sample(t0, "edge_mfa_relay_packets_dropped_total", { reason: "bad_message_authenticator", transport: "udp" }) ?? 0;
    expect((await radclient(relay.target, "wrong-secret", login("alice"), { timeoutSeconds: 1 })).code).toBeNull();
    const sock = createSocket("udp4");
    // An Access-Request whose length field points past its end.
    sock.send(Buffer.concat([Buffer.from([1, 7, 0, 200]), Buffer.alloc(16)]), relay.port, "127.0.0.1");
    const t1 = await until(
      metrics,
      (t) => sample(t, "edge_mfa_relay_packets_dropped_total", { reason: "malformed", transport: "udp" }) !== undefined,
    );
    sock.close();
    expect(sample(t1, "edge_mfa_relay_packets_dropped_total", { reason: "bad_message_authenticator", transport: "udp" })).toBeGreaterThan(
      bad0,
    );
  });

  it("answers only GET/HEAD on /metrics and /healthz", async () => {
    expect((await curl(`${adminUrl}/metrics`, "POST")).status).toBe(405);
    expect((await curl(`${adminUrl}/config`)).status).toBe(404);
  });
});

describe("/healthz", () => {
  it("is 200 while listening with the edge up, 503 with a reason when the edge is down, 200 again when it is back", async () => {
    const up = await curl(`${adminUrl}/healthz`);
    expect(up.status).toBe(200);
    expect(JSON.parse(up.body)).toEqual({ status: "ok" });
    await edge.setDown(true);
    try {
      const down = await until(
        () => curl(`${adminUrl}/healthz`),
        (r) => r.status === 503,
      );
      expect(JSON.parse(down.body)).toMatchObject({ status: "unavailable", reason: "edge_unreachable" });
      // And a login meanwhile fails secure, counted as the edge being unavailable.
      expect((await radclient(relay.target, SECRET, login("alice"))).code).toBe("Access-Reject");
      expect(
        sample(await metrics(), "edge_mfa_relay_edge_call_errors_total", { call: "touch", kind: "unavailable" }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await edge.setDown(false);
    }
    await until(
      () => curl(`${adminUrl}/healthz`),
      (r) => r.status === 200,
    );
  });

  it("is 503 while a SIGTERM drains the logins in flight, so a load balancer moves on", async () => {
    const port = await freePort();
    const draining = await startRelay({ ...base, admin: { listen: { port }, healthCacheSeconds: 1 } });
    await draining.waitForLog((l) => l.event === "admin_listening");
    expect((await curl(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const release = holdTouches(USERS.carol.msisdn);
    const touches = edge.touches.length;
    const inFlight = radclient(draining.target, SECRET, login("carol"));
    await until(
      () => edge.touches.length,
      (n) => n > touches,
    );
    const exited = draining.stop("SIGTERM");
    await draining.waitForLog((l) => l.event === "shutting_down");
    const during = await curl(`http://127.0.0.1:${port}/healthz`);
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ reason: "not_listening" });
    release();
    // Drained, not dropped: the reply leaves before the socket closes.
    expect((await inFlight).code).toBe("Access-Accept");
    expect(await exited).toBe(0);
  });

  it("asks the edge at most once per cache period, however often it is polled", async () => {
    const checks0 = edge.healthChecks();
    const polls = await Promise.all(Array.from({ length: 20 }, () => curl(`${adminUrl}/healthz`)));
    expect(polls.every((p) => p.status === 200)).toBe(true);
    expect(edge.healthChecks() - checks0).toBeLessThanOrEqual(2); // 20 polls in well under two periods of 1 s
  });
});

describe("Accounting", () => {
  it("forwards a record upstream and answers Accounting-Response once the upstream has it", async () => {
    const r = await radclient(acctTarget, SECRET, acct("alice", "sess-fwd-1"), { code: "acct", timeoutSeconds: 3 });
    expect(r.code).toBe("Accounting-Response"); // radclient checked its authenticator with our secret
    const record = upstream.records.find((a) => a["Acct-Session-Id"] === "sess-fwd-1");
    expect(record).toMatchObject({ "User-Name": "alice", "Acct-Status-Type": "Start", "NAS-Port": 7 });
    await relay.waitForLog((l) => l.event === "accounting" && l.sessionId === "sess-fwd-1" && typeof l.forwardedTo === "string");
    expect(
      sample(await metrics(), "edge_mfa_relay_requests_total", {
        client: "vpn",
        transport: "udp",
        method: "accounting",
        result: "Accounting-Response",
      }),
    ).toBe(1);
  });

  it("does not acknowledge a record the upstream did not take, and takes the NAS's retransmission once it is back", async () => {
    upstream.setDown(true);
    const lost = await radclient(acctTarget, SECRET, acct("bob", "sess-down-1", "Stop"), { code: "acct", timeoutSeconds: 1 });
    expect(lost.code).toBeNull();
    await relay.waitForLog((l) => l.event === "accounting_not_recorded" && l.sessionId === "sess-down-1");
    expect(upstream.records.some((a) => a["Acct-Session-Id"] === "sess-down-1")).toBe(false);
    expect(
      sample(await metrics(), "edge_mfa_relay_requests_total", { client: "vpn", transport: "udp", method: "accounting", result: "none" }),
    ).toBe(1);
    upstream.setDown(false);
    const again = await radclient(acctTarget, SECRET, acct("bob", "sess-down-1", "Stop"), { code: "acct", timeoutSeconds: 3 });
    expect(again.code).toBe("Accounting-Response");
    expect(upstream.records.some((a) => a["Acct-Session-Id"] === "sess-down-1")).toBe(true);
  });

  it("without an upstream, answers after one log line; with Message-Authenticator too (FreeRADIUS signing)", async () => {
    const r = await radclient(plainAcctTarget, SECRET, [...acct("carol", "sess-log-1"), SIGNED], { code: "acct", timeoutSeconds: 3 });
    expect(r.code).toBe("Accounting-Response");
    const line = await plain.waitForLog((l) => l.event === "accounting" && l.sessionId === "sess-log-1");
    expect(line).toMatchObject({ client: "vpn", transport: "udp", user: "carol", statusType: "Start" });
    expect(plain.logs().filter((l) => l.sessionId === "sess-log-1")).toHaveLength(1);
  });

  it("drops a record signed with another secret, and answers accounting sent to the authentication port too", async () => {
    const forged = await radclient(plainAcctTarget, "not-the-secret", acct("carol", "sess-forged"), { code: "acct", timeoutSeconds: 1 });
    expect(forged.code).toBeNull();
    await plain.waitForLog((l) => l.event === "packet_dropped" && l.reason === "bad_request_authenticator");
    expect(plain.logs().some((l) => l.event === "accounting" && l.sessionId === "sess-forged")).toBe(false);
    const onAuthPort = await radclient(plain.target, SECRET, acct("carol", "sess-authport"), { code: "acct", timeoutSeconds: 3 });
    expect(onAuthPort.code).toBe("Accounting-Response");
  });

  it("the accounting port answers Status-Server with Accounting-Response and takes no logins", async () => {
    const status = await radclient(plainAcctTarget, SECRET, [SIGNED], { code: "status", timeoutSeconds: 3 });
    expect(status.code).toBe("Accounting-Response"); // RFC 5997 §3, Message-Authenticator checked by radclient
    expect((await radclient(plainAcctTarget, SECRET, login("carol"), { timeoutSeconds: 1 })).code).toBeNull();
    await plain.waitForLog((l) => l.event === "packet_dropped" && l.reason === "login_on_accounting_port");
  });
});

describe("SIGHUP reload", () => {
  const OLD_SECRET = "old-secret";
  const NEW_SECRET = "new-secret";
  let r: RelayProcess;
  const rewrite = (change: Record<string, unknown> | string) =>
    writeFileSync(r.configFile, typeof change === "string" ? change : JSON.stringify({ ...r.config, ...change }, null, 2));
  const reloaded = async (event: string) => {
    const seen = r.logs().filter((l) => l.event === event).length;
    r.signal("SIGHUP");
    await until(
      () => r.logs().filter((l) => l.event === event).length,
      (n) => n > seen,
    );
  };

  beforeAll(async () => {
    r = await startRelay({
      ...base,
      clients: [{ name: "old-nas", address: "127.0.0.1", secret: OLD_SECRET }],
      users: { alice: USERS.alice },
    });
  });
  afterAll(() => r?.stop());

  it("serves the new client and users at once, while a Touch login in flight finishes with the settings it began with", async () => {
    const release = holdTouches(USERS.alice.msisdn);
    const touches = edge.touches.length;
    const inFlight = radclient(r.target, OLD_SECRET, login("alice"));
    await until(
      () => edge.touches.length,
      (n) => n > touches,
    );
    // The NAS's secret changes, alice leaves the users map, bob joins.
    rewrite({ clients: [{ name: "new-nas", address: "127.0.0.1", secret: NEW_SECRET }], users: { bob: USERS.bob } });
    await reloaded("config_reloaded");
    expect(r.logs().find((l) => l.event === "config_reloaded")).toMatchObject({ changed: ["clients", "users"], clients: 1, users: 1 });

    expect((await radclient(r.target, NEW_SECRET, login("bob"))).code).toBe("Access-Accept");
    expect((await radclient(r.target, OLD_SECRET, login("bob"), { timeoutSeconds: 1 })).code).toBeNull();
    release();
    // Signed with the old secret (radclient verified it), for a user the new file no longer has.
    expect((await inFlight).code).toBe("Access-Accept");
    expect((await radclient(r.target, NEW_SECRET, login("alice"))).code).toBe("Access-Reject");
  });

  it("refuses an invalid file with one error line and keeps the running settings", async () => {
    for (const broken of [
      "{ not json",
      JSON.stringify({ ...r.config, clients: [] }),
      JSON.stringify({ ...r.config, clients: [{ name: "x", address: "300.1.1.1/8", secret: "s" }] }),
    ]) {
      const refusals = r.logs().filter((l) => l.event === "config_reload_refused").length;
      rewrite(broken);
      await reloaded("config_reload_refused");
      expect(r.logs().filter((l) => l.event === "config_reload_refused")).toHaveLength(refusals + 1);
      expect((await radclient(r.target, NEW_SECRET, login("bob"))).code).toBe("Access-Accept");
    }
    expect(r.output()).not.toContain(NEW_SECRET);
  });

  it("names settings that need a restart and keeps them", async () => {
    rewrite({
      clients: [{ name: "new-nas", address: "127.0.0.1", secret: NEW_SECRET }],
      users: { bob: USERS.bob },
      edge: { ...(base.edge as object), url: "http://127.0.0.1:9" },
      touchTimeoutSeconds: 20,
    });
    await reloaded("config_reloaded");
    expect(r.logs().findLast((l) => l.event === "config_restart_needed")).toMatchObject({ settings: ["edge", "touchTimeoutSeconds"] });
    expect((await radclient(r.target, NEW_SECRET, login("bob"))).code).toBe("Access-Accept"); // still the old edge
  });

  it("a login in flight keeps the fail mode it began with when a reload changes it", async () => {
    const unavailable: TouchAnswer = { status: 503, body: { error: "edge_unavailable" } };
    const current = JSON.parse(readFileSync(r.configFile, "utf8")) as Record<string, unknown>;
    const release = holdTouches(USERS.bob.msisdn);
    const touches = edge.touches.length;
    const inFlight = radclient(r.target, NEW_SECRET, login("bob"));
    await until(
      () => edge.touches.length,
      (n) => n > touches,
    );
    writeFileSync(r.configFile, JSON.stringify({ ...current, failMode: "safe" }));
    await reloaded("config_reloaded");
    release(unavailable); // the edge gives up on this login: fail mode decides
    expect((await inFlight).code).toBe("Access-Reject"); // secure, as when it started
    edge.touchAnswer = () => unavailable;
    try {
      expect((await radclient(r.target, NEW_SECRET, login("bob"))).code).toBe("Access-Accept"); // a new login: safe
    } finally {
      edge.touchAnswer = () => "TOUCH_ACCEPTED";
      writeFileSync(r.configFile, JSON.stringify(current));
      await reloaded("config_reloaded");
    }
  });
});
