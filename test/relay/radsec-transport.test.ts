import { connect as tcpConnect } from "node:net";
import radius from "radius";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalChallengeStore } from "../../relay/src/challenge-store.ts";
import { parseRelayConfig } from "../../relay/src/config.ts";
import type { EdgeApi } from "../../relay/src/edge-client.ts";
import { firstFactorFrom } from "../../relay/src/first-factor/index.ts";
import { jsonLogger } from "../../relay/src/log.ts";
import { verifyReply } from "../../relay/src/radius/packet.ts";
import { RelayServer } from "../../relay/src/server.ts";
import { radsecConnect } from "../support/radsec-client.ts";
import { type IssuedCert, makeTestPki, type TestPki } from "../support/tls-certs.ts";

/**
 * RadSec (RADIUS over TLS) against an in-process relay whose edge accepts every Touch: the
 * stream framing (split, coalesced, bad lengths, garbage), the connection limits (handshake
 * timeout, idle close, connection cap, requests in flight), mutual TLS refusals (each one log
 * line, nothing answered) and a graceful stop. radsecproxy end to end: radsecproxy.test.ts.
 */
const SECRET = "radsec"; // RFC 6614 §2.3
const USER = "+46701234567";

let pki: TestPki;
let nas: IssuedCert;
const running: RelayServer[] = [];

beforeAll(() => {
  pki = makeTestPki();
  nas = pki.client("nas1.example.test");
});
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop(500)));
});

/** An edge that answers every Touch TOUCH_ACCEPTED, after `gate` opens if one is given. */
function edge(gate?: { calls: number; open: Promise<void> }): EdgeApi {
  return {
    touch: async () => {
      if (gate) {
        gate.calls++;
        await gate.open;
      }
      return "TOUCH_ACCEPTED";
    },
    startSmsOtp: async () => ({ code: "SENT", challengeId: "c" }),
    verifySmsOtp: async () => "reject",
    verifyTotp: async () => "reject",
    hasTotp: async () => false,
    hasApp: async () => false,
    verifyChallengeResponse: async () => "reject",
  };
}

async function relayWith(radsec: Record<string, unknown>, api: EdgeApi = edge()) {
  const logs: Array<Record<string, unknown>> = [];
  const config = parseRelayConfig({
    listen: { host: "127.0.0.1", port: 0 },
    clients: [{ name: "udp-nas", address: "10.9.9.9", secret: "udp-secret" }],
    edge: { url: "http://127.0.0.1:9", relayName: "t", privateKeyFile: "/dev/null" },
    firstFactor: { type: "none" },
    users: { [USER]: {}, "+46701234568": {} },
    usernameAsMsisdn: true,
    radsec: {
      listen: { host: "127.0.0.1", port: 0 },
      certFile: pki.server.cert,
      keyFile: pki.server.key,
      caFile: pki.caFile,
      clients: [{ name: "nas1", certName: "nas1.example.test" }],
      handshakeTimeoutSeconds: 2,
      ...radsec,
    },
  });
  const server = new RelayServer(config, {
    edge: api,
    challenges: new LocalChallengeStore(60_000),
    firstFactor: firstFactorFrom({ type: "none" }),
    log: jsonLogger("debug", (l) => logs.push(JSON.parse(l))),
  });
  running.push(server);
  const started = await server.start();
  if (!started.radsec) throw new Error("radsec listener not started");
  const events = (event: string, reason?: string) => logs.filter((l) => l.event === event && (reason === undefined || l.reason === reason));
  const waitForLog = async (event: string, reason?: string, timeoutMs = 5000) => {
    const until = Date.now() + timeoutMs;
    while (events(event, reason).length === 0) {
      if (Date.now() > until) throw new Error(`no ${event} ${reason ?? ""}; logs: ${JSON.stringify(logs)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return events(event, reason)[0] as Record<string, unknown>;
  };
  return { server, port: started.radsec.port, logs, events, waitForLog };
}

function accessRequest(id: number, user = USER, secret = SECRET): Buffer {
  return radius.encode({
    code: "Access-Request",
    secret,
    identifier: id,
    add_message_authenticator: true,
    attributes: [
      ["User-Name", user],
      ["User-Password", "pw"],
    ],
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("RadSec: requests over TLS", () => {
  it("answers an Access-Request signed with the secret 'radsec', and a Status-Server", async () => {
    const relay = await relayWith({});
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    const request = accessRequest(7);
    c.socket.write(request);
    const [reply] = await c.waitForReplies(1);
    expect(reply?.[0]).toBe(2); // Access-Accept
    expect(reply?.[1]).toBe(7);
    expect(verifyReply(reply as Buffer, request.subarray(4, 20), SECRET, true)).toBe(true);
    const status = radius.encode({ code: "Status-Server", secret: SECRET, identifier: 8, add_message_authenticator: true, attributes: [] });
    c.socket.write(status);
    const replies = await c.waitForReplies(2);
    expect(replies[1]?.[0]).toBe(2);
    expect(verifyReply(replies[1] as Buffer, status.subarray(4, 20), SECRET, true)).toBe(true);
    const auth = await relay.waitForLog("auth");
    expect(auth).toMatchObject({ client: "nas1", transport: "radsec", result: "Access-Accept" });
    expect(relay.events("connection_accepted")[0]).toMatchObject({ client: "nas1", subject: "CN=nas1.example.test" });
    expect(["TLSv1.2", "TLSv1.3"]).toContain(relay.events("connection_accepted")[0]?.tls);
    c.socket.end();
  });

  it("reassembles a packet split byte by byte, and several packets in one write", async () => {
    const relay = await relayWith({});
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    const split = accessRequest(1);
    for (const byte of split) {
      c.socket.write(Buffer.from([byte]));
      await sleep(1);
    }
    await c.waitForReplies(1);
    c.socket.write(Buffer.concat([accessRequest(2), accessRequest(3, "+46701234568"), accessRequest(4)]));
    const replies = await c.waitForReplies(4);
    expect(replies.map((r) => r[0])).toEqual([2, 2, 2, 2]);
    expect(replies.map((r) => r[1]).sort()).toEqual([1, 2, 3, 4]);
    expect(c.isClosed()).toBe(false);
    c.socket.end();
  });

  it("a retransmission on the same connection while in flight reaches the edge once", async () => {
    let release = () => {};
    const gate = { calls: 0, open: new Promise<void>((r) => (release = r)) };
    const relay = await relayWith({}, edge(gate));
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    const request = accessRequest(11);
    c.socket.write(request);
    c.socket.write(request);
    await relay.waitForLog("duplicate_in_flight");
    release();
    await c.waitForReplies(1);
    await sleep(100);
    expect(gate.calls).toBe(1);
    expect(c.replies).toHaveLength(1);
    c.socket.end();
  });
});

describe("RadSec: bad frames close the connection, with one log line", () => {
  it.each([
    ["a Length over 4096", Buffer.from([1, 1, 0x13, 0x88, ...Buffer.alloc(16)])],
    ["a Length under 20", Buffer.from([1, 1, 0, 4, ...Buffer.alloc(16)])],
    ["text after the handshake", Buffer.from("GET / HTTP/1.1\r\nHost: relay\r\n\r\n")],
  ])("%s", async (_name, bytes) => {
    const relay = await relayWith({});
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    c.socket.write(accessRequest(1));
    await c.waitForReplies(1);
    c.socket.write(bytes);
    await c.closed;
    await relay.waitForLog("connection_closed", "bad_frame");
    expect(relay.events("connection_closed", "bad_frame")).toHaveLength(1);
    expect(c.replies).toHaveLength(1);
    // The listener is unharmed.
    const d = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    d.socket.write(accessRequest(2));
    expect((await d.waitForReplies(1))[0]?.[0]).toBe(2);
    d.socket.end();
  });

  it("a well-framed but malformed packet, or one with a wrong Message-Authenticator, closes the stream (RFC 6613 §2.6.4)", async () => {
    const relay = await relayWith({});
    const bad = Buffer.concat([Buffer.from([1, 9, 0, 24]), Buffer.alloc(16), Buffer.from([1, 0, 0, 0])]); // attribute length 0
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    c.socket.write(bad);
    await c.closed;
    await relay.waitForLog("packet_dropped", "malformed");
    const d = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    d.socket.write(accessRequest(3, USER, "not-radsec"));
    await d.closed;
    await relay.waitForLog("packet_dropped", "bad_message_authenticator");
    expect(d.replies).toHaveLength(0);
  });

  it("a truncated packet then a close: nothing answered, nothing crashes", async () => {
    const relay = await relayWith({});
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    c.socket.end(accessRequest(5).subarray(0, 30));
    await c.closed;
    expect(c.replies).toHaveLength(0);
    const d = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    d.socket.write(accessRequest(6));
    expect((await d.waitForReplies(1))[0]?.[0]).toBe(2);
    d.socket.end();
  });
});

describe("RadSec: client certificates", () => {
  async function refused(relay: Awaited<ReturnType<typeof relayWith>>, cert: IssuedCert | undefined, reason: string) {
    const before = relay.events("connection_refused").length;
    // With TLS 1.3 the client may finish its side before the relay checks its certificate.
    const c = await radsecConnect(relay.port, { ca: pki.caPem, ...(cert ? { cert } : {}) }).catch(() => undefined);
    c?.socket.write(accessRequest(1));
    await (c ? c.closed : sleep(200));
    await relay.waitForLog("connection_refused", reason);
    expect(relay.events("connection_refused").length - before).toBe(1);
    expect(c?.replies ?? []).toHaveLength(0);
    expect(relay.events("auth")).toHaveLength(0);
  }

  it("refuses a certificate from another CA, a self-signed one, and none at all", async () => {
    const relay = await relayWith({});
    await refused(relay, pki.rogueClient("nas1.example.test"), "certificate_refused");
    await refused(relay, pki.selfSigned("nas1.example.test"), "certificate_refused");
    await refused(relay, undefined, "certificate_refused");
    expect(relay.events("connection_refused").map((l) => l.error)).toEqual([
      expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/),
      expect.stringMatching(/^[A-Z_]+$/), // INVALID_PURPOSE here: a CA certificate cannot be a client's
      "no client certificate",
    ]);
  });

  it("refuses a certificate of the CA that no client entry names, and a pin mismatch", async () => {
    const other = pki.client("nas2.example.test");
    const relay = await relayWith({
      clients: [
        { name: "pinned", certName: "nas2.example.test", certFingerprintSha256: nas.fingerprint },
        { name: "nas1", certName: "nas1.example.test" },
      ],
    });
    await refused(relay, pki.client("printer.example.test"), "unknown_certificate");
    await refused(relay, other, "pin_mismatch");
    expect(relay.events("connection_refused", "pin_mismatch")[0]).toMatchObject({
      client: "pinned",
      fingerprint: other.fingerprint.toUpperCase().match(/../g)?.join(":"),
    });
  });

  it("a pinned certificate is accepted, its entry's policy applies (identity from the certificate, not the packet)", async () => {
    const pinned = pki.client("vpn.example.test");
    const colons = pinned.fingerprint.toUpperCase().replace(/(..)(?!$)/g, "$1:");
    const relay = await relayWith({ clients: [{ name: "vpn", certFingerprintSha256: colons, secondFactor: "sms" }] });
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: pinned });
    c.socket.write(accessRequest(1));
    const [reply] = await c.waitForReplies(1);
    expect(reply?.[0]).toBe(11); // Access-Challenge: this client's second factor is SMS
    expect(relay.events("auth")[0]).toMatchObject({ client: "vpn", transport: "radsec" });
    c.socket.end();
  });

  it("a client entry's totpSource applies to its logins like its secondFactor", async () => {
    const relay = await relayWith({
      clients: [{ name: "nas1", certName: "nas1.example.test", secondFactor: "totp", totpSource: "local" }],
    });
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    c.socket.write(accessRequest(1));
    await c.waitForReplies(1);
    // Checked on this relay (which has no local token for the user), not at the edge.
    expect(relay.events("auth")[0]).toMatchObject({ client: "nas1", reason: "no local TOTP token enrolled" });
    c.socket.end();
  });

  it("an address condition refuses the right certificate from elsewhere; with only addressed clients, before the handshake", async () => {
    const mixed = await relayWith({
      clients: [
        { name: "nas1", certName: "nas1.example.test", address: "10.0.0.0/8" },
        { name: "x", certName: "x.test" },
      ],
    });
    await refused(mixed, nas, "address_not_allowed");
    const only = await relayWith({ clients: [{ name: "nas1", certName: "nas1.example.test", address: "10.0.0.0/8" }] });
    await refused(only, nas, "address_not_allowed");
    expect(only.events("connection_refused")[0]?.subject).toBeUndefined(); // refused at accept: no handshake
  });

  it("refuses TLS 1.1", async () => {
    const relay = await relayWith({});
    // SECLEVEL=0 lets this client offer TLS 1.1 at all; the relay must be the one to say no.
    const old = { ca: pki.caPem, cert: nas, minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" } as const;
    await expect(radsecConnect(relay.port, old)).rejects.toThrow();
    expect((await relay.waitForLog("connection_refused", "handshake_failed")).error).toMatch(/unsupported protocol|version/i);
    expect(relay.events("connection_accepted")).toHaveLength(0);
  });
});

describe("RadSec: slow and idle clients, limits, stop", () => {
  it("garbage instead of a handshake, and a silent client, are refused with one line each", async () => {
    const relay = await relayWith({ handshakeTimeoutSeconds: 1 });
    const garbage = tcpConnect(relay.port, "127.0.0.1", () => garbage.write("\x16\x03\x01\x00\x05hello, not TLS at all"));
    garbage.on("error", () => undefined);
    await relay.waitForLog("connection_refused", "handshake_failed");
    const silent = tcpConnect(relay.port, "127.0.0.1");
    silent.on("error", () => undefined);
    const closed = new Promise((r) => silent.once("close", r));
    await relay.waitForLog("connection_refused", "handshake_timeout", 5000);
    await closed;
    expect(relay.events("connection_refused")).toHaveLength(2);
  });

  it("closes an idle connection, not one whose request is still being decided", async () => {
    let release = () => {};
    const gate = { calls: 0, open: new Promise<void>((r) => (release = r)) };
    const relay = await relayWith({ idleTimeoutSeconds: 1 }, edge(gate));
    const idle = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    const busy = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    busy.socket.write(accessRequest(1));
    await idle.closed;
    expect((await relay.waitForLog("connection_closed", "idle_timeout")).level).toBe("info");
    await sleep(1500);
    expect(busy.isClosed()).toBe(false); // its Touch is still pending past the idle limit
    release();
    expect((await busy.waitForReplies(1))[0]?.[0]).toBe(2);
    await busy.closed; // then idle, then closed
  });

  it("caps connections: one over the limit is refused and logged; a freed slot is usable again", async () => {
    const relay = await relayWith({ maxConnections: 2 });
    const a = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    const b = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    await expect(radsecConnect(relay.port, { ca: pki.caPem, cert: nas })).rejects.toThrow();
    await relay.waitForLog("connection_refused", "too_many_connections");
    a.socket.end();
    await a.closed;
    await sleep(100);
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    c.socket.write(accessRequest(1));
    expect((await c.waitForReplies(1))[0]?.[0]).toBe(2);
    b.socket.end();
    c.socket.end();
  });

  it("caps requests in flight per connection: it stops reading, then answers all", async () => {
    let release = () => {};
    const gate = { calls: 0, open: new Promise<void>((r) => (release = r)) };
    const relay = await relayWith({ maxPacketsInFlightPerConnection: 2 }, edge(gate));
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    c.socket.write(Buffer.concat(Array.from({ length: 6 }, (_, i) => accessRequest(20 + i))));
    await sleep(300);
    expect(gate.calls).toBe(2);
    release();
    const replies = await c.waitForReplies(6);
    expect(replies.map((r) => r[1]).sort()).toEqual([20, 21, 22, 23, 24, 25]);
    expect(gate.calls).toBe(6);
    c.socket.end();
  });

  it("stop(): no new connections, the request in flight is answered, then the connection closes", async () => {
    let release = () => {};
    const gate = { calls: 0, open: new Promise<void>((r) => (release = r)) };
    const relay = await relayWith({}, edge(gate));
    const c = await radsecConnect(relay.port, { ca: pki.caPem, cert: nas });
    c.socket.write(accessRequest(1));
    while (gate.calls === 0) await sleep(10);
    const stopped = relay.server.stop(5000);
    await sleep(100);
    await expect(radsecConnect(relay.port, { ca: pki.caPem, cert: nas })).rejects.toThrow();
    release();
    expect((await c.waitForReplies(1))[0]?.[0]).toBe(2);
    await stopped;
    await c.closed;
  });
});
