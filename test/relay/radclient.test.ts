import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { generate } from "otplib";
import radius from "radius";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { startFakeSmsGateway } from "../../harness/fake-sms-gateway.ts";
import { answerLink, linkIn, waitForSms } from "../support/magic-link-user.ts";
import { SIGNED, accessRequest, radclient } from "../support/radclient.ts";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { startSlapd, type Slapd } from "../support/slapd.ts";
import { startUpstreamRadius } from "../support/upstream-radius.ts";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";
import { edgeDevArgs } from "../support/dev-vars.ts";

/**
 * The relay end to end: FreeRADIUS's radclient -> relay (npm run relay) -> edge (npm run dev,
 * wrangler dev) -> SMS gateway (a real HTTP server here), with OpenLDAP's slapd as first factor.
 */
const SECRET = "radius-shared-secret";

let gateway: Awaited<ReturnType<typeof startFakeSmsGateway>>;
let dev: DevServer;
let slapd: Slapd;
let relay: RelayProcess;
let ldapRelay: RelayProcess;
const extraRelays: RelayProcess[] = [];
let base: Record<string, unknown>;
let seq = 0;

/** A fresh number (suffix picks the fake gateway's behaviour: 0000 fails delivery). */
function freshNumber(suffix = "9999"): string {
  return `+4673${String(Date.now() % 1e4).padStart(4, "0")}${String(seq++ % 100).padStart(2, "0")}${suffix}`.slice(0, 15);
}
/**
 * Numbers used as usernames: since issue 10 a username is the phone number only when the
 * relay opts in (usernameAsMsisdn) and knows the user, so the relays list these in `users`.
 */
const KNOWN = Array.from({ length: 40 }, () => freshNumber());
const msisdn = () => {
  const n = KNOWN.shift();
  if (!n) throw new Error("out of known test numbers");
  return n;
};
const request = accessRequest;

beforeAll(async () => {
  gateway = await startFakeSmsGateway();
  const key = await relayKey();
  const edgeConfig = {
    rateLimit: { perMinute: 100, perHour: 1000 },
    endpoints: [
      { name: "radius", timeoutSeconds: 30, texts: { title: "VPN login" } },
      { name: "radius-assisted", timeoutSeconds: 30, assistedLogin: { approvers: [{ name: "Alice Admin", msisdn: "+46700000011" }] } },
    ],
    relays: [
      { name: "test-relay", publicJwk: key.publicJwk, endpoint: "radius" },
      // Misconfigured on the edge: its endpoint does not exist.
      { name: "orphan-relay", publicJwk: key.publicJwk, endpoint: "missing" },
      { name: "assisted-relay", publicJwk: key.publicJwk, endpoint: "radius-assisted" },
    ],
  };

  [dev, slapd] = await Promise.all([
    startDevServer(edgeDevArgs(edgeConfig, gateway.url, { SMS_TIMEOUT_MS: "1500" })),
    startSlapd([
      { uid: "alice", password: "alice-password", mobile: "+46701234599" },
      { uid: "nomobile", password: "pw-nomobile" },
    ]),
  ]);
  base = {
    clients: [{ name: "vpn", address: "127.0.0.1", secret: SECRET }],
    edge: { url: dev.url, relayName: "test-relay", privateKeyFile: key.privateKeyFile },
    touchTimeoutSeconds: 15,
    log: { level: "debug" },
    firstFactor: { type: "none" },
    usernameAsMsisdn: true,
    users: Object.fromEntries(KNOWN.map((n) => [n, {}])),
  };
  [relay, ldapRelay] = await Promise.all([
    startRelay({
      ...base,
      users: {
        ...(base.users as object),
        "sms-user": { msisdn: "+46702220019", secondFactor: "sms" },
        "totp-user": { msisdn: "+46702220002", secondFactor: "totp" },
        "plus-user": { msisdn: "+46702220000", secondFactor: 7 },
        "mobile-user": { msisdn: "+46702230000", secondFactor: 8 },
      },
    }),
    startRelay({
      ...base,
      firstFactor: { type: "ldap", url: slapd.url, bindDnTemplate: "uid={user},ou=people,dc=example,dc=com" },
      secondFactor: "sms",
    }),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([relay?.stop(), ldapRelay?.stop(), ...extraRelays.map((r) => r.stop()), dev?.stop(), slapd?.stop()]);
  gateway?.server.close();
});

async function enrollTotp(number: string): Promise<string> {
  const res = await fetch(`${dev.url}/admin/v1/subscribers/${encodeURIComponent(number)}/totp`, {
    method: "PUT",
    headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}`, "content-type": "application/json" },
    body: "{}",
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { secret: string }).secret;
}

describe("Touch (type 6): the relay holds the request while the user answers", () => {
  it("Access-Accept when the user accepts the magic link", async () => {
    const user = msisdn();
    const pending = radclient(relay.target, SECRET, request(user, "x"));
    const text = await waitForSms(gateway.requests, user);
    expect(text).toContain("/m/");
    expect(await answerLink(linkIn(text), "accept")).toBe(200);
    const r = await pending;
    expect(r.code).toBe("Access-Accept");
    // Message-Authenticator is the first attribute of the reply (radclient verified it).
    expect(r.output).toMatch(/Received Access-Accept[\s\S]*Message-Authenticator/);
    await relay.waitForLog((l) => l.event === "auth" && l.user === user && l.result === "Access-Accept");
  });

  it("Access-Reject with a Reply-Message when the user rejects", async () => {
    const user = msisdn();
    const pending = radclient(relay.target, SECRET, request(user, "x"));
    await answerLink(linkIn(await waitForSms(gateway.requests, user)), "reject");
    const r = await pending;
    expect(r.code).toBe("Access-Reject");
    expect(r.replyMessage).toBe("Login rejected on your phone");
  });

  it("Access-Reject when the user does not answer within touchTimeoutSeconds", async () => {
    const user = msisdn();
    const started = Date.now();
    const r = await radclient(relay.target, SECRET, request(user, "x"));
    expect(r.code).toBe("Access-Reject");
    expect(r.replyMessage).toBe("No answer from your phone");
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
  });

  it("ignores retransmissions while in flight: one SMS, one answer", async () => {
    const user = msisdn();
    // radclient retransmits the identical packet every 2 s while the relay holds it.
    const pending = radclient(relay.target, SECRET, request(user, "x"), { timeoutSeconds: 2, retries: 10 });
    const text = await waitForSms(gateway.requests, user);
    await relay.waitForLog((l) => l.event === "duplicate_in_flight", 10_000);
    await answerLink(linkIn(text), "accept");
    expect((await pending).code).toBe("Access-Accept");
    expect(gateway.requests.filter((q) => q.to === user)).toHaveLength(1);
    // The auth line goes out in the write after the reply's event-loop round (relay/src/log.ts).
    await relay.waitForLog((l) => l.event === "auth" && l.user === user);
    expect(relay.logs().filter((l) => l.event === "auth" && l.user === user)).toHaveLength(1);
  });
});

describe("batched Touch: logins that reach the relay together share one edge call", () => {
  it("three logins in one round go in one call, and each is answered the moment its own user decides", async () => {
    const adminPort = await freePort();
    const batching = await startRelay({ ...base, admin: { listen: { host: "127.0.0.1", port: adminPort } } });
    extraRelays.push(batching);
    const pid = batching.pid;
    if (pid === undefined) throw new Error("relay has no pid");
    const users = [msisdn(), msisdn(), msisdn()];
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const replies = new Map<number, Buffer>();
    sock.on("message", (m) => replies.set(m[1] ?? -1, m));
    const packets = users.map((user, k) =>
      radius.encode({
        code: "Access-Request",
        secret: SECRET,
        identifier: k,
        add_message_authenticator: true,
        attributes: [
          ["User-Name", user],
          ["User-Password", "x"],
        ],
      }),
    );
    const replied = async (k: number) => {
      const until = Date.now() + 15_000;
      while (!replies.has(k) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const reply = replies.get(k);
      const request = packets[k];
      if (!reply || !request) throw new Error(`no reply to login ${k}`);
      expect(radius.verify_response({ request, response: reply, secret: SECRET })).toBe(true);
      return reply[0] === 2 ? "Access-Accept" : reply[0] === 3 ? "Access-Reject" : `code ${reply[0]}`;
    };
    try {
      // Stopped, the relay finds all three waiting when it next reads: one round, so one call.
      process.kill(pid, "SIGSTOP");
      try {
        for (const p of packets) sock.send(p, batching.port, "127.0.0.1");
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        process.kill(pid, "SIGCONT");
      }
      const texts = await Promise.all(users.map((u) => waitForSms(gateway.requests, u)));
      // Answered out of order: each reply comes while the logins not yet answered still wait.
      await answerLink(linkIn(texts[1] ?? ""), "accept");
      expect(await replied(1)).toBe("Access-Accept");
      expect([replies.has(0), replies.has(2)]).toEqual([false, false]);
      await answerLink(linkIn(texts[2] ?? ""), "reject");
      expect(await replied(2)).toBe("Access-Reject");
      expect(replies.has(0)).toBe(false);
      await answerLink(linkIn(texts[0] ?? ""), "accept");
      expect(await replied(0)).toBe("Access-Accept");
    } finally {
      sock.close();
    }
    // One Touch call to the edge carried the three logins.
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^edge_mfa_relay_edge_touch_logins_per_call_count 1$/m);
    expect(metrics).toMatch(/^edge_mfa_relay_edge_touch_logins_per_call_sum 3$/m);
    for (const user of users) expect(gateway.requests.filter((q) => q.to === user)).toHaveLength(1);
  });
});

describe("SMS OTP via Access-Challenge", () => {
  it("challenges, then accepts the code with the State, once", async () => {
    const first = await radclient(relay.target, SECRET, request("sms-user", "x"));
    expect(first.code).toBe("Access-Challenge");
    expect(first.replyMessage).toBe("Enter the code sent to your phone by SMS");
    // Issue 12: the State is the edge's (shared by a site's relays): an owner key and 256 random bits.
    expect(first.state).toMatch(/^0x[0-9a-f]{80}$/);
    const code = (await waitForSms(gateway.requests, "+46702220019")).match(/\d{6}/)![0];
    const second = await radclient(relay.target, SECRET, request("sms-user", code, `State = ${first.state}`));
    expect(second.code).toBe("Access-Accept");
    // The State is single use: replaying the same answer is refused.
    const replay = await radclient(relay.target, SECRET, request("sms-user", code, `State = ${first.state}`));
    expect(replay.code).toBe("Access-Reject");
  });

  it("rejects a wrong code, and a State presented for another user", async () => {
    const first = await radclient(relay.target, SECRET, request("sms-user", "x"));
    expect(first.code).toBe("Access-Challenge");
    const wrong = await radclient(relay.target, SECRET, request("sms-user", "000000", `State = ${first.state}`));
    expect(wrong.code).toBe("Access-Reject");
    expect(wrong.replyMessage).toBe("Wrong or expired code");

    const again = await radclient(relay.target, SECRET, request("sms-user", "x"));
    const code = (await waitForSms(gateway.requests, "+46702220019", 15_000, Date.now() - 2000)).match(/\d{6}/)![0];
    const otherUser = await radclient(relay.target, SECRET, request("totp-user", code, `State = ${again.state}`));
    expect(otherUser.code).toBe("Access-Reject");
    await relay.waitForLog((l) => l.event === "auth" && l.reason === "challenge state mismatch");
  });
});

describe("TOTP via Access-Challenge", () => {
  it("accepts the current code of an enrolled token, not twice", async () => {
    const secret = await enrollTotp("+46702220002");
    const first = await radclient(relay.target, SECRET, request("totp-user", "x"));
    expect(first.code).toBe("Access-Challenge");
    expect(first.replyMessage).toBe("Enter the code from your authenticator app");
    const code = await generate({ secret });
    expect((await radclient(relay.target, SECRET, request("totp-user", code, `State = ${first.state}`))).code).toBe("Access-Accept");
    const again = await radclient(relay.target, SECRET, request("totp-user", "x"));
    expect((await radclient(relay.target, SECRET, request("totp-user", code, `State = ${again.state}`))).code).toBe("Access-Reject");
  });

  it("Touch-Plus (type 7) falls back to TOTP when the phone cannot be reached", async () => {
    const secret = await enrollTotp("+46702220000"); // ...0000: the SMS gateway fails
    const first = await radclient(relay.target, SECRET, request("plus-user", "x"));
    expect(first.code).toBe("Access-Challenge");
    expect(first.replyMessage).toBe("Phone not reachable. Enter the code from your authenticator app");
    const code = await generate({ secret });
    expect((await radclient(relay.target, SECRET, request("plus-user", code, `State = ${first.state}`))).code).toBe("Access-Accept");
  });

  it("Touch-Mobile (type 8) tries SMS OTP, then TOTP, when Touch delivery fails", async () => {
    const first = await radclient(relay.target, SECRET, request("mobile-user", "x"));
    expect(first.code).toBe("Access-Reject"); // no SMS possible and no token enrolled yet
    await enrollTotp("+46702230000");
    const second = await radclient(relay.target, SECRET, request("mobile-user", "x"));
    expect(second.code).toBe("Access-Challenge");
    expect(second.replyMessage).toContain("authenticator");
  });
});

describe("first factor on-prem: LDAP (slapd)", () => {
  it("wrong password is rejected without any SMS", async () => {
    const before = gateway.requests.length;
    const r = await radclient(ldapRelay.target, SECRET, request("alice", "wrong"));
    expect(r.code).toBe("Access-Reject");
    await ldapRelay.waitForLog((l) => l.event === "auth" && l.user === "alice" && l.reason === "first factor: invalid credentials");
    expect(gateway.requests.length).toBe(before);
  });

  it("right password, then the SMS code to the directory's mobile number", async () => {
    const first = await radclient(ldapRelay.target, SECRET, request("alice", "alice-password"));
    expect(first.code).toBe("Access-Challenge");
    const code = (await waitForSms(gateway.requests, "+46701234599", 15_000, Date.now() - 3000)).match(/\d{6}/)![0];
    expect((await radclient(ldapRelay.target, SECRET, request("alice", code, `State = ${first.state}`))).code).toBe("Access-Accept");
  });

  it("rejects an empty password (no unauthenticated bind) and users without a mobile number", async () => {
    expect((await radclient(ldapRelay.target, SECRET, request("alice", ""))).code).toBe("Access-Reject");
    expect((await radclient(ldapRelay.target, SECRET, request("nomobile", "pw-nomobile"))).code).toBe("Access-Reject");
    await ldapRelay.waitForLog((l) => l.event === "auth" && l.user === "nomobile" && l.reason === "no phone number for user");
  });
});

describe("first factor on-prem: upstream RADIUS", () => {
  it("asks the upstream server and only then the edge", async () => {
    const upstream = await startUpstreamRadius("upstream-secret", { bob: "bob-password" });
    const r2 = await startRelay({
      ...base,
      firstFactor: { type: "radius", host: "127.0.0.1", port: upstream.port, secret: "upstream-secret", timeoutMs: 1000 },
      secondFactor: "sms",
      users: { bob: { msisdn: "+46702240019" } },
    });
    extraRelays.push(r2);
    expect((await radclient(r2.target, SECRET, request("bob", "nope"))).code).toBe("Access-Reject");
    const ok = await radclient(r2.target, SECRET, request("bob", "bob-password"));
    expect(ok.code).toBe("Access-Challenge");
    expect(upstream.received()).toBe(2);
    await upstream.stop();
  });
});

describe("fail mode when the edge is unreachable", () => {
  it.each([
    ["secure", "Access-Reject"],
    ["safe", "Access-Accept"],
  ])("%s -> %s, logged", async (failMode, expected) => {
    const dead = await startRelay({ ...base, edge: { ...(base.edge as object), url: "http://127.0.0.1:9" }, failMode });
    extraRelays.push(dead);
    const r = await radclient(dead.target, SECRET, request(msisdn(), "x"));
    expect(r.code).toBe(expected);
    await dead.waitForLog((l) => l.event === "edge_unavailable" && l.failMode === failMode);
  });
});

describe("issue 10: safe defaults, fail mode, every edge code, pinned numbers", () => {
  it("a config without firstFactor does not start; an explicit none logs a warning", async () => {
    const { firstFactor: _omitted, ...noFirstFactor } = base;
    await expect(startRelay(noFirstFactor)).rejects.toThrow(/firstFactor is required/);
    await relay.waitForLog((l) => l.event === "first_factor_none" && l.level === "warn");
  });

  it("a stranger's E.164 username is no phone number by default: rejected, no SMS", async () => {
    const strict = await startRelay({ ...base, usernameAsMsisdn: undefined, users: {} });
    extraRelays.push(strict);
    const stranger = freshNumber();
    const r = await radclient(strict.target, SECRET, request(stranger, "x"));
    expect(r.code).toBe("Access-Reject");
    await strict.waitForLog((l) => l.event === "auth" && l.user === stranger && l.reason === "no phone number for user");
    expect(gateway.requests.filter((q) => q.to === stranger)).toEqual([]);
  });

  it("failMode safe rejects when the edge refuses: a relay whose endpoint is missing", async () => {
    const orphan = await startRelay({ ...base, edge: { ...(base.edge as object), relayName: "orphan-relay" }, failMode: "safe" });
    extraRelays.push(orphan);
    const user = msisdn();
    const r = await radclient(orphan.target, SECRET, request(user, "x"));
    expect(r.code).toBe("Access-Reject");
    const line = await orphan.waitForLog((l) => l.event === "auth" && l.user === user);
    expect(line.reason).toMatch(/^edge refused: .*500.*relay endpoint \\"missing\\" is not configured/);
    expect(orphan.logs().some((l) => l.event === "edge_unavailable")).toBe(false);
  });

  it("failMode safe rejects when the edge's MFA_CONFIG is invalid", async () => {
    const broken = await startDevServer(["--var", 'MFA_CONFIG:{"relays": 5']);
    try {
      const r2 = await startRelay({ ...base, edge: { ...(base.edge as object), url: broken.url }, failMode: "safe" });
      extraRelays.push(r2);
      const user = msisdn();
      expect((await radclient(r2.target, SECRET, request(user, "x"))).code).toBe("Access-Reject");
      const line = await r2.waitForLog((l) => l.event === "auth" && l.user === user);
      expect(line.reason).toMatch(/^edge refused: .*500.*service misconfigured/);
      expect(r2.logs().some((l) => l.event === "edge_unavailable")).toBe(false);
    } finally {
      await broken.stop();
    }
  });

  it("Assisted Login's NO_APPROVER_SELECTED gets an Access-Reject with a Reply-Message", async () => {
    const assisted = await startRelay({ ...base, edge: { ...(base.edge as object), relayName: "assisted-relay" } });
    extraRelays.push(assisted);
    const user = msisdn();
    const pending = radclient(assisted.target, SECRET, request(user, "x"), { timeoutSeconds: 40, retries: 1 });
    expect(await answerLink(linkIn(await waitForSms(gateway.requests, user)), "accept")).toBe(200);
    const r = await pending; // the user accepted but picks no approver before the 15 s Touch timeout
    expect(r.code).toBe("Access-Reject");
    expect(r.replyMessage).toBe("No approver was selected");
  });

  it("a number changed in the directory is refused (number_changed) until an operator confirms it", async () => {
    // alice logged in before (LDAP tests above): her directory number is pinned at the edge.
    const attacker = "+46701239999";
    const modify = spawnSync("ldapmodify", ["-x", "-H", slapd.url, "-D", slapd.adminDn, "-w", slapd.adminPassword], {
      input: `dn: uid=alice,ou=people,${slapd.baseDn}\nchangetype: modify\nreplace: mobile\nmobile: ${attacker}\n`,
      encoding: "utf8",
    });
    expect(modify.status, modify.stderr).toBe(0);
    const since = Date.now();
    const r = await radclient(ldapRelay.target, SECRET, request("ALICE", "alice-password"));
    expect(r.code).toBe("Access-Reject");
    expect(r.replyMessage).toBe("Your phone number changed; ask your help desk to confirm it");
    await ldapRelay.waitForLog((l) => l.event === "auth" && l.user === "ALICE" && l.reason === "number_changed");
    expect(await waitForSms(gateway.requests, "+46701234599", 15_000, since)).toMatch(/tried to use another phone number/);
    expect(gateway.requests.filter((q) => q.to === attacker)).toEqual([]);

    // The operator confirms with the CLI; then the new number is the one asked.
    const cli = spawnSync(
      join(process.cwd(), "node_modules", ".bin", "node"),
      ["cli/admin.ts", "users", "confirm-number", "radius", "alice", "--msisdn", attacker],
      {
        env: { ...process.env, EDGE_MFA_URL: dev.url, EDGE_MFA_ADMIN_TOKEN: DEMO_ADMIN_TOKEN },
        encoding: "utf8",
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ username: "alice", msisdn: attacker, pending: null });
    const again = await radclient(ldapRelay.target, SECRET, request("alice", "alice-password"));
    expect(again.code).toBe("Access-Challenge");
    await waitForSms(gateway.requests, attacker);
  });
});

describe("packet hygiene", () => {
  it("drops requests without Message-Authenticator (BlastRADIUS) and with a wrong secret", async () => {
    const noMa = await radclient(relay.target, SECRET, [`User-Name = "${msisdn()}"`, 'User-Password = "x"'], {
      timeoutSeconds: 1,
      retries: 1,
    });
    expect(noMa.code).toBeNull();
    await relay.waitForLog((l) => l.event === "packet_dropped" && l.reason === "missing_message_authenticator");
    const wrong = await radclient(relay.target, "not-the-secret", request(msisdn(), "x"), { timeoutSeconds: 1, retries: 1 });
    expect(wrong.code).toBeNull();
    await relay.waitForLog((l) => l.event === "packet_dropped" && l.reason === "bad_message_authenticator");
  });

  it("survives garbage and truncated packets, then still answers", async () => {
    const sock = createSocket("udp4");
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([1]),
      Buffer.from("hello world, not radius"),
      Buffer.concat([Buffer.from([1, 7, 0, 200]), Buffer.alloc(16)]), // length beyond packet
      Buffer.concat([Buffer.from([1, 8, 0, 24]), Buffer.alloc(16), Buffer.from([1, 0, 0, 0])]), // attribute length 0
      ...Array.from({ length: 50 }, () =>
        Buffer.from(Array.from({ length: 20 + Math.floor(Math.random() * 100) }, () => Math.floor(Math.random() * 256))),
      ),
    ];
    for (const g of garbage) sock.send(g, relay.port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 500));
    sock.close();
    await relay.waitForLog((l) => l.event === "packet_dropped" && l.reason === "malformed");
    const status = await radclient(relay.target, SECRET, [SIGNED], { code: "status", timeoutSeconds: 3 });
    expect(status.code).toBe("Access-Accept");
  });

  it("answers a retransmission after the reply from the reply cache, byte for byte", async () => {
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const replies: Buffer[] = [];
    sock.on("message", (m) => replies.push(m));
    const packet = radius.encode({
      code: "Access-Request",
      secret: SECRET,
      identifier: 42,
      add_message_authenticator: true,
      attributes: [
        ["User-Name", "sms-user"],
        ["User-Password", "x"],
      ],
    });
    sock.send(packet, relay.port, "127.0.0.1");
    const until = Date.now() + 10_000;
    while (replies.length < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const smsBefore = gateway.requests.length;
    sock.send(packet, relay.port, "127.0.0.1");
    while (replies.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    sock.close();
    expect(replies).toHaveLength(2);
    expect(replies[1]!.equals(replies[0]!)).toBe(true);
    expect(replies[0]![0]).toBe(11); // Access-Challenge
    expect(gateway.requests.length).toBe(smsBefore); // no second SMS for the duplicate
    expect(radius.verify_response({ request: packet, response: Buffer.from(replies[0]!), secret: SECRET })).toBe(true);
  });
});

describe("operations", () => {
  it("shuts down gracefully on SIGTERM", async () => {
    const r = await startRelay(base);
    expect(await r.stop("SIGTERM")).toBe(0);
    expect(r.logs().map((l) => l.event)).toEqual(expect.arrayContaining(["signal", "shutting_down", "stopped"]));
  });

  it("auth logs carry no passwords, codes or State", () => {
    const text = relay.output() + ldapRelay.output();
    expect(text).toContain('"event":"auth"');
    expect(text).not.toContain("alice-password");
    expect(text).not.toMatch(/"password"/);
    expect(text).not.toMatch(/"state"/i);
  });
});
