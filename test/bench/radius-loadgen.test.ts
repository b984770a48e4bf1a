import { createHash, createHmac } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import radius from "radius";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFreeRadius } from "../../bench/lib/freeradius.ts";
import { freeUdpPort } from "../../harness/relay-process.ts";
import { accessRequest } from "../../bench/lib/radius-packet.ts";
import { PASSWORD, runRadiusLoad, SECRET, USER } from "../../bench/lib/radius-load.ts";

/**
 * The RADIUS benchmarks' load generator (bench/lib/radius-loadgen.ts, in its own process):
 * a real FreeRADIUS accepts what it sends, and it counts a reply as accepted only when the
 * reply is signed with the shared secret.
 */

/** A UDP server answering every Access-Request with an Access-Accept built by `reply`. */
async function responder(reply: (request: Buffer) => Buffer): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket("udp4");
  socket.on("message", (msg, from) => socket.send(reply(msg), from.port, from.address));
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  return { port: socket.address().port, socket };
}

/** An Access-Accept to `request`, its Response Authenticator over `secret`, with a Message-Authenticator keyed by `macSecret`. */
function accept(request: Buffer, secret: string, macSecret = secret): Buffer {
  const packet = Buffer.alloc(38);
  packet[0] = 2;
  packet[1] = request[1] ?? 0;
  packet.writeUInt16BE(38, 2);
  request.copy(packet, 4, 4, 20);
  packet[20] = 80;
  packet[21] = 18;
  createHmac("md5", macSecret).update(packet).digest().copy(packet, 22);
  createHash("md5").update(packet).update(secret).digest().copy(packet, 4);
  return packet;
}

describe("RADIUS load generator", () => {
  let freeradius: Awaited<ReturnType<typeof startFreeRadius>>;
  let port: number;
  beforeAll(async () => {
    port = await freeUdpPort();
    freeradius = await startFreeRadius(port, SECRET, USER, { kind: "users-file", password: PASSWORD });
  }, 30_000);
  afterAll(() => freeradius?.stop());

  it("its Access-Request decodes with the `radius` package: password hidden with the secret, Message-Authenticator valid", () => {
    const packet = accessRequest({
      identifier: 7,
      requestAuthenticator: Buffer.alloc(16, 9),
      secret: SECRET,
      user: USER,
      password: PASSWORD,
    });
    const decoded = radius.decode({ packet, secret: SECRET });
    expect(decoded.code).toBe("Access-Request");
    expect(decoded.identifier).toBe(7);
    expect(decoded.attributes["User-Name"]).toBe(USER);
    expect(decoded.attributes["User-Password"]).toBe(PASSWORD);
    expect(packet[20]).toBe(80); // Message-Authenticator first
    const zeroed = Buffer.from(packet);
    zeroed.fill(0, 22, 38);
    expect(createHmac("md5", SECRET).update(zeroed).digest()).toEqual(packet.subarray(22, 38));
  });

  it("a few hundred requests from 8 source ports against FreeRADIUS's users file: all accepted and verified", async () => {
    const r = await runRadiusLoad(`127.0.0.1:${port}`, 320);
    expect(r).toMatchObject({ sent: 320, accepted: 320, rejected: 0, bad: 0, timeouts: 0, stray: 0 });
    expect(r.p99ms).toBeGreaterThan(0);
    expect(r.cpuMs).toBeGreaterThan(0);
  }, 60_000);

  it("a wrong password is rejected by FreeRADIUS, and counted as rejected", async () => {
    const r = await runRadiusLoad(`127.0.0.1:${port}`, 16, { password: "not-the-password" });
    expect(r).toMatchObject({ sent: 16, accepted: 0, rejected: 16, bad: 0 });
  }, 60_000);

  it("replies signed with another secret are all bad, none accepted", async () => {
    const server = await responder((req) => accept(req, "the-server-secret"));
    try {
      const r = await runRadiusLoad(`127.0.0.1:${server.port}`, 64);
      expect(r).toMatchObject({ sent: 64, accepted: 0, bad: 64, timeouts: 0 });
    } finally {
      server.socket.close();
    }
  }, 30_000);

  it("a reply with a right Response Authenticator but a wrong Message-Authenticator is bad", async () => {
    const server = await responder((req) => accept(req, SECRET, "the-server-secret"));
    try {
      const r = await runRadiusLoad(`127.0.0.1:${server.port}`, 16);
      expect(r).toMatchObject({ sent: 16, accepted: 0, bad: 16 });
    } finally {
      server.socket.close();
    }
  }, 30_000);

  it("the same responder with the right secret: all accepted (the two cases above fail on the secret alone)", async () => {
    const server = await responder((req) => accept(req, SECRET));
    try {
      const r = await runRadiusLoad(`127.0.0.1:${server.port}`, 16);
      expect(r).toMatchObject({ sent: 16, accepted: 16, bad: 0 });
    } finally {
      server.socket.close();
    }
  }, 30_000);

  it("warm-up requests are sent the same way first and not counted", async () => {
    let received = 0;
    const server = await responder((req) => {
      received++;
      return accept(req, SECRET);
    });
    try {
      const r = await runRadiusLoad(`127.0.0.1:${server.port}`, 30, { sources: 1, inFlightPerSource: 1, warmup: 20 });
      expect(r).toMatchObject({ sent: 30, accepted: 30, bad: 0 });
      expect(received).toBe(50);
    } finally {
      server.socket.close();
    }
  }, 30_000);

  it("warm-up requests count toward no latency, and a bad reply to one still counts as bad", async () => {
    // The first 10 answered late (the warm-up), the 11th signed wrong, the rest at once.
    let received = 0;
    const socket = createSocket("udp4");
    socket.on("message", (msg, from) => {
      received++;
      const n = received;
      const reply = accept(msg, n === 11 ? "the-server-secret" : SECRET);
      if (n <= 10) setTimeout(() => socket.send(reply, from.port, from.address), 200);
      else socket.send(reply, from.port, from.address);
    });
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    try {
      const r = await runRadiusLoad(`127.0.0.1:${socket.address().port}`, 20, { sources: 1, inFlightPerSource: 1, warmup: 11 });
      expect(r).toMatchObject({ sent: 20, accepted: 20, bad: 1 });
      expect(r.p99ms).toBeLessThan(150);
      expect(r.seconds).toBeLessThan(0.15);
    } finally {
      socket.close();
    }
  }, 30_000);

  it("a server that never answers: every request retransmitted, then timed out, and the run ends", async () => {
    const silent = createSocket("udp4");
    let received = 0;
    silent.on("message", () => received++);
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
    try {
      const r = await runRadiusLoad(`127.0.0.1:${silent.address().port}`, 12, {
        sources: 2,
        inFlightPerSource: 4,
        timeoutMs: 150,
        retries: 2,
      });
      expect(r).toMatchObject({ sent: 12, accepted: 0, bad: 0, timeouts: 12, retransmits: 24 });
      expect(received).toBe(36);
    } finally {
      silent.close();
    }
  }, 30_000);
});
