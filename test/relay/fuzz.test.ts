import { readdirSync, readFileSync } from "node:fs";
import { createSocket, type Socket } from "node:dgram";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import radius from "radius";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalChallengeStore } from "../../relay/src/challenge-store.ts";
import { parseRelayConfig } from "../../relay/src/config.ts";
import type { EdgeApi } from "../../relay/src/edge-client.ts";
import { firstFactorFrom } from "../../relay/src/first-factor/index.ts";
import { jsonLogger } from "../../relay/src/log.ts";
import { PacketError, decodeRequest, verifyReply } from "../../relay/src/radius/packet.ts";
import { RelayServer } from "../../relay/src/server.ts";
import { radsecConnect } from "../support/radsec-client.ts";
import { type IssuedCert, makeTestPki, type TestPki } from "../support/tls-certs.ts";

/**
 * Reliability: fuzz the relay's packet handling with random and mutated packets seeded from
 * node-radius's capture files and FreeRADIUS's public test vectors. The relay runs in-process
 * with an edge that accepts everything, so the only thing between a forged packet and an
 * Access-Accept is the relay's own packet authentication. Expect: no crash, and no accept
 * for any packet that is not byte-for-byte a validly signed request.
 */
const SECRET = "fuzz-secret";
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 6000);

function seeds(): Buffer[] {
  const dir = join(process.cwd(), "node_modules/radius/test/captures");
  const captures = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
  const vectors = readFileSync(join(import.meta.dirname, "fixtures/freeradius-packet_wireshark01.txt"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => Buffer.from(l.replace(/\s+/g, ""), "hex"));
  return [...captures, ...vectors];
}

function validRequest(id: number, user: string, secret = SECRET): Buffer {
  return radius.encode({
    code: "Access-Request",
    secret,
    identifier: id,
    add_message_authenticator: true,
    attributes: [
      ["User-Name", user],
      ["User-Password", "pw"],
      ["NAS-IP-Address", "10.0.0.1"],
    ],
  });
}

/** One random mutation: bit flips, byte overwrites, truncation, length-field and attribute corruption, splices. */
function mutate(p: Buffer, rnd: () => number, pool: Buffer[]): Buffer {
  const b = Buffer.from(p);
  const pick = Math.floor(rnd() * 8);
  const at = () => Math.floor(rnd() * Math.max(1, b.length));
  switch (pick) {
    case 0:
      for (let i = 0; i < 1 + rnd() * 4; i++) b[at()]! ^= 1 << Math.floor(rnd() * 8);
      return b;
    case 1:
      b[at()] = Math.floor(rnd() * 256);
      return b;
    case 2:
      return b.subarray(0, at());
    case 3:
      if (b.length >= 4) b.writeUInt16BE(Math.floor(rnd() * 5000), 2);
      return b;
    case 4:
      if (b.length > 21) b[20 + Math.floor(rnd() * (b.length - 20))] = [0, 1, 2, 255][Math.floor(rnd() * 4)]!;
      return b;
    case 5: {
      const other = pool[Math.floor(rnd() * pool.length)]!;
      return Buffer.concat([b.subarray(0, at()), other.subarray(Math.floor(rnd() * other.length))]);
    }
    case 6:
      b[0] = Math.floor(rnd() * 256); // any code
      return b;
    default:
      return Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
  }
}

/** Deterministic PRNG so a failure can be replayed (FUZZ_SEED). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

let server: RelayServer;
let port: number;
let radsecPort: number;
let pki: TestPki;
let nasCert: IssuedCert;
let client: Socket;
const replies: Buffer[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  nasCert = pki.client("fuzz-nas.example.test");
  const config = parseRelayConfig({
    listen: { host: "127.0.0.1", port: 0 },
    clients: [{ name: "fuzz", address: "127.0.0.1", secret: SECRET }],
    edge: { url: "http://127.0.0.1:9", relayName: "fuzz", privateKeyFile: "/dev/null" },
    firstFactor: { type: "none" },
    secondFactor: "touch",
    radsec: {
      listen: { host: "127.0.0.1", port: 0 },
      certFile: pki.server.cert,
      keyFile: pki.server.key,
      caFile: pki.caFile,
      clients: [{ name: "fuzz-radsec", certName: "fuzz-nas.example.test" }],
      handshakeTimeoutSeconds: 2,
    },
    // Every user the valid requests name is known, so only packet authentication stands
    // between a mutant and an Access-Accept.
    usernameAsMsisdn: true,
    users: Object.fromEntries(
      ["+46701234567", "+46709999999", ...Array.from({ length: 8 }, (_, i) => `+4670123456${i}`)].map((u) => [u, {}]),
    ),
  });
  const acceptAll: EdgeApi = {
    touch: async () => "TOUCH_ACCEPTED",
    startSmsOtp: async () => ({ code: "SENT", challengeId: "c" }),
    verifySmsOtp: async () => "accept",
    verifyTotp: async () => "accept",
    hasTotp: async () => true,
    hasApp: async () => true,
    verifyChallengeResponse: async () => "accept",
  };
  server = new RelayServer(config, {
    edge: acceptAll,
    challenges: new LocalChallengeStore(60_000),
    firstFactor: firstFactorFrom({ type: "none" }),
    log: jsonLogger("warn", (l) => logLines.push(l)),
  });
  const started = await server.start();
  port = started.port;
  radsecPort = started.radsec?.port ?? 0;
  client = createSocket("udp4");
  client.on("message", (m) => replies.push(m));
  await new Promise<void>((r) => client.bind(0, "127.0.0.1", r));
});

afterAll(async () => {
  client?.close();
  await server?.stop(1000);
});

describe("relay fuzzing", () => {
  it("decodeRequest only returns or throws PacketError, and never authenticates a mutant", () => {
    const rnd = prng(Number(process.env.FUZZ_SEED ?? 1));
    const valid = validRequest(1, "+46701234567");
    const pool = [...seeds(), valid];
    let authenticated = 0;
    for (let i = 0; i < ITERATIONS * 5; i++) {
      const p = mutate(pool[i % pool.length]!, rnd, pool);
      try {
        const r = decodeRequest(p, SECRET);
        // Packets without a Message-Authenticator decode (the server then drops them);
        // one that carries a valid MA must be the signed original itself.
        if (r.hasMessageAuthenticator) {
          authenticated++;
          expect(p.subarray(0, valid.length).equals(valid)).toBe(true);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(PacketError);
      }
    }
    expect(authenticated).toBeLessThan(ITERATIONS); // sanity: mutants almost never keep the original bytes
  });

  it("a Message-Authenticator differing in any byte is refused (node-radius alone would pass some)", () => {
    const valid = validRequest(5, "+46701234567");
    const maAt = valid.length - 16;
    for (let i = 0; i < 16; i++) {
      for (const v of [0x00, 0x7f, 0x80, 0xc3, 0xff]) {
        if (valid[maAt + i] === v) continue;
        const forged = Buffer.from(valid);
        forged[maAt + i] = v;
        expect(() => decodeRequest(forged, SECRET)).toThrow(/Message-Authenticator mismatch/);
      }
    }
  });

  it("no crash and no Access-Accept for mutated packets over UDP", async () => {
    const rnd = prng(Number(process.env.FUZZ_SEED ?? 2));
    const valid = Array.from({ length: 8 }, (_, i) => validRequest(200 + i, `+4670123456${i}`));
    const pool = [...seeds(), ...valid];
    const accepted = new Set<number>();
    let sentMutants = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const original = pool[i % pool.length]!;
      const p = mutate(original, rnd, pool);
      // A mutant whose signed bytes are unchanged is the original request (possibly with
      // padding); any other mutant must never be accepted.
      const len = original.length;
      const same = p.length >= len && p.subarray(0, len).equals(original) && valid.includes(original);
      if (same) continue;
      sentMutants++;
      client.send(p, port, "127.0.0.1");
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5)); // let the socket drain
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const r of replies) if (r[0] === 2) accepted.add(r[1]!);
    expect(sentMutants).toBeGreaterThan(ITERATIONS * 0.9);
    expect([...accepted]).toEqual([]);
    expect(logLines.some((l) => l.includes("packet_dropped"))).toBe(true);
    expect(logLines.some((l) => l.includes("handler_error"))).toBe(false);

    // Still alive and correct: a valid request is accepted (the edge here accepts all).
    replies.length = 0;
    const request = validRequest(99, "+46709999999");
    client.send(request, port, "127.0.0.1");
    for (let i = 0; i < 100 && replies.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(replies[0]?.[0]).toBe(2);
    expect(replies[0]![1]).toBe(99);
    expect(verifyReply(replies[0]!, request.subarray(4, 20), SECRET, true)).toBe(true);
  });

  it("RadSec framing: random chunks, lengths and mutants over TLS; no crash, no Access-Accept, then still answering", async () => {
    const rnd = prng(Number(process.env.FUZZ_SEED ?? 3));
    // Signed with RadSec's secret: only the relay's packet checks stand between a mutant and an accept.
    const valid = Array.from({ length: 8 }, (_, i) => validRequest(200 + i, `+4670123456${i}`, "radsec"));
    const pool = [...seeds(), ...valid];
    const streams = Math.max(10, Math.round(ITERATIONS / 150));
    const accepts: Buffer[] = [];
    let bytesSent = 0;
    for (let s = 0; s < streams; s++) {
      // One stream: mutants (never a signed original), random bytes, bogus Length headers.
      const parts: Buffer[] = [];
      for (let k = 0; k < 1 + Math.floor(rnd() * 12); k++) {
        const pick = rnd();
        if (pick < 0.6) {
          const original = pool[Math.floor(rnd() * pool.length)] as Buffer;
          const p = mutate(original, rnd, pool);
          if (valid.includes(original) && p.length >= original.length && p.subarray(0, original.length).equals(original)) continue;
          parts.push(p);
        } else if (pick < 0.8) {
          parts.push(Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))));
        } else {
          const len = Math.floor(rnd() * 70_000) % 65_536;
          parts.push(Buffer.from([1, Math.floor(rnd() * 256), len >> 8, len & 0xff]));
        }
      }
      const stream = Buffer.concat(parts);
      bytesSent += stream.length;
      const c = await radsecConnect(radsecPort, { ca: pki.caPem, cert: nasCert });
      // Random chunk sizes, sometimes a pause between writes: partial packets must be held.
      for (let at = 0; at < stream.length; ) {
        const n = 1 + Math.floor(rnd() * 300);
        c.socket.write(stream.subarray(at, at + n));
        at += n;
        if (rnd() < 0.2) await new Promise((r) => setTimeout(r, 1));
      }
      c.socket.end();
      await Promise.race([c.closed, new Promise((r) => setTimeout(r, 2000))]);
      accepts.push(...c.replies.filter((r) => r[0] === 2));
      c.socket.destroy();
    }
    // Garbage instead of a TLS handshake.
    for (let g = 0; g < 5; g++) {
      const raw = tcpConnect(radsecPort, "127.0.0.1");
      raw.on("error", () => undefined);
      raw.end(Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 500) }, () => Math.floor(rnd() * 256))));
      await new Promise((r) => raw.once("close", r));
    }
    expect(bytesSent).toBeGreaterThan(streams * 20);
    expect(accepts).toEqual([]);
    expect(logLines.some((l) => l.includes("handler_error"))).toBe(false);
    expect(logLines.some((l) => l.includes('"transport":"radsec"') && /bad_frame|packet_dropped/.test(l))).toBe(true);

    // Still alive and correct over TLS.
    const c = await radsecConnect(radsecPort, { ca: pki.caPem, cert: nasCert });
    const request = validRequest(77, "+46709999999", "radsec");
    c.socket.write(request);
    const [reply] = await c.waitForReplies(1);
    expect(reply?.[0]).toBe(2);
    expect(verifyReply(reply as Buffer, request.subarray(4, 20), "radsec", true)).toBe(true);
    c.socket.end();
  });
});
