import { describe, expect, it } from "vitest";
import { parseRelayConfig, RelayConfigError } from "../../../relay/src/config.ts";
import { addressMayConnect, matchRadsecClient, type PeerCertificate } from "../../../relay/src/radsec/client-match.ts";
import { RadsecSchema } from "../../../relay/src/radsec/config.ts";
import { FrameReader } from "../../../relay/src/radsec/framing.ts";

/** RadSec's pure parts: stream framing, which client a certificate is, and the config block. */
function packet(length: number, id = 1): Buffer {
  const b = Buffer.alloc(length);
  b[0] = 1;
  b[1] = id;
  b.writeUInt16BE(length, 2);
  return b;
}

describe("FrameReader", () => {
  it("frames packets split anywhere, and several in one chunk", () => {
    const stream = Buffer.concat([packet(20, 1), packet(4096, 2), packet(38, 3)]);
    for (const cut of [1, 2, 3, 4, 19, 20, 21, 100, 4115, 4116, 4117]) {
      const r = new FrameReader();
      const a = r.push(stream.subarray(0, cut));
      const b = r.push(stream.subarray(cut));
      expect([...a.packets, ...b.packets].map((p) => [p[1], p.length])).toEqual([
        [1, 20],
        [2, 4096],
        [3, 38],
      ]);
      expect(a.error ?? b.error).toBeUndefined();
      expect(r.buffered).toBe(0);
    }
  });

  it("byte by byte: nothing until the last byte, and never more than one packet held", () => {
    const r = new FrameReader();
    const p = packet(60);
    for (let i = 0; i < 59; i++) expect(r.push(p.subarray(i, i + 1)).packets).toEqual([]);
    expect(r.buffered).toBe(59);
    expect(r.push(p.subarray(59)).packets).toEqual([p]);
  });

  it.each([0, 4, 19, 4097, 65535])("Length %i is an error; packets before it still come out; the stream stays failed", (length) => {
    const r = new FrameReader();
    const bad = Buffer.from([1, 9, length >> 8, length & 0xff]);
    const out = r.push(Buffer.concat([packet(20, 7), bad, packet(20, 8)]));
    expect(out.packets.map((p) => p[1])).toEqual([7]);
    expect(out.error).toBe(`invalid length field ${length}`);
    expect(r.push(packet(20)).error).toBeDefined();
    expect(r.buffered).toBe(0);
  });

  it("returns copies: a reused chunk buffer does not change a framed packet", () => {
    const r = new FrameReader();
    const chunk = packet(20, 5);
    const [p] = r.push(chunk).packets;
    chunk.fill(0);
    expect(p?.[1]).toBe(5);
  });
});

const cert = (fingerprint256: string, names: string[]): PeerCertificate => ({ fingerprint256, isFor: (n) => names.includes(n) });
const FP_A = "a".repeat(64);
const FP_B = "b".repeat(64);
const clients = RadsecSchema.parse({
  certFile: "c",
  keyFile: "k",
  caFile: "ca",
  clients: [
    { name: "pinned", certName: "vpn.example.test", certFingerprintSha256: FP_A },
    { name: "office", certName: "nas.example.test", address: "10.1.0.0/16" },
    { name: "by-pin", certFingerprintSha256: FP_B.toUpperCase().replace(/(..)(?!$)/g, "$1:") },
    { name: "ipv6", certName: "v6.example.test", address: "2001:db8::/32" },
  ],
}).clients;

describe("matchRadsecClient", () => {
  it("the certificate names the client; a pin and an address narrow it", () => {
    expect(matchRadsecClient(clients, cert(FP_A, ["vpn.example.test"]), "192.0.2.1")).toMatchObject({ client: { name: "pinned" } });
    expect(matchRadsecClient(clients, cert("c".repeat(64), ["nas.example.test"]), "10.1.2.3")).toMatchObject({
      client: { name: "office" },
    });
    expect(matchRadsecClient(clients, cert(FP_B, ["anything"]), "192.0.2.1")).toMatchObject({ client: { name: "by-pin" } });
    expect(matchRadsecClient(clients, cert("c".repeat(64), ["v6.example.test"]), "2001:db8::5")).toMatchObject({
      client: { name: "ipv6" },
    });
    expect(matchRadsecClient(clients, cert("c".repeat(64), ["nas.example.test"]), "::ffff:10.1.2.3")).toMatchObject({
      client: { name: "office" },
    });
  });

  it("refuses with the closest reason", () => {
    expect(matchRadsecClient(clients, cert(FP_B.replace("b", "c"), ["vpn.example.test"]), "10.1.2.3")).toEqual({
      kind: "refused",
      reason: "pin_mismatch",
      client: "pinned",
    });
    expect(matchRadsecClient(clients, cert("c".repeat(64), ["nas.example.test"]), "10.2.0.1")).toEqual({
      kind: "refused",
      reason: "address_not_allowed",
      client: "office",
    });
    expect(matchRadsecClient(clients, cert("c".repeat(64), ["printer.example.test"]), "10.1.2.3")).toEqual({
      kind: "refused",
      reason: "unknown_certificate",
    });
  });

  it("first match wins", () => {
    const two = RadsecSchema.parse({
      certFile: "c",
      keyFile: "k",
      caFile: "ca",
      clients: [
        { name: "first", certName: "nas.example.test", secondFactor: "sms" },
        { name: "second", certName: "nas.example.test" },
      ],
    }).clients;
    expect(matchRadsecClient(two, cert(FP_A, ["nas.example.test"]), "10.0.0.1")).toMatchObject({
      client: { name: "first", secondFactor: "sms" },
    });
  });

  it("addressMayConnect: false only when every client is bound to other addresses", () => {
    expect(addressMayConnect(clients, "192.0.2.1")).toBe(true); // "pinned" has no address
    const bound = clients.filter((c) => c.address !== undefined);
    expect(addressMayConnect(bound, "10.1.9.9")).toBe(true);
    expect(addressMayConnect(bound, "192.0.2.1")).toBe(false);
    expect(addressMayConnect(bound, "not an address")).toBe(false);
  });
});

describe("the radsec config block", () => {
  const base = {
    clients: [{ name: "udp", address: "127.0.0.1", secret: "s" }],
    edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/k" },
    firstFactor: { type: "none" },
  };
  const radsec = { certFile: "/c.pem", keyFile: "/k.pem", caFile: "/ca.pem", clients: [{ name: "nas", certName: "nas.example.test" }] };

  it("defaults: port 2083, short handshake, limits on", () => {
    const r = parseRelayConfig({ ...base, radsec }).radsec;
    expect(r).toMatchObject({
      listen: { host: "0.0.0.0", port: 2083 },
      handshakeTimeoutSeconds: 5,
      idleTimeoutSeconds: 600,
      maxConnections: 100,
      maxPacketsInFlightPerConnection: 32,
      clients: [{ name: "nas", requireMessageAuthenticator: true }],
    });
    expect(parseRelayConfig(base).radsec).toBeUndefined();
  });

  it.each([
    [{ name: "ca-only" }, /needs certName or certFingerprintSha256[\s\S]*radsec\.clients\[0\]\.certName/],
    [{ name: "x", certFingerprintSha256: "abc" }, /certFingerprintSha256 must be a SHA-256 fingerprint/],
    [{ name: "x", certName: "n", address: "10.0.0.0/33" }, /address must be an IP address or a CIDR block/],
    [{ name: "x", certName: "n", address: "nas.example.test" }, /address must be an IP address or a CIDR block/],
  ])("refuses client %j, naming the field", (client, message) => {
    expect(() => parseRelayConfig({ ...base, radsec: { ...radsec, clients: [client] } })).toThrow(RelayConfigError);
    expect(() => parseRelayConfig({ ...base, radsec: { ...radsec, clients: [client] } })).toThrow(message);
  });

  it("a RadSec-only relay needs no UDP client; a relay with neither does not load", () => {
    const { clients: _udp, ...noUdp } = base;
    expect(parseRelayConfig({ ...noUdp, radsec }).clients).toEqual([]);
    expect(() => parseRelayConfig(noUdp)).toThrow(/clients: list at least one RADIUS client/);
    expect(() => parseRelayConfig({ ...noUdp, clients: [] })).toThrow(/clients: list at least one RADIUS client/);
  });

  it("requires the certificate, key and CA files", () => {
    expect(() => parseRelayConfig({ ...base, radsec: { clients: radsec.clients } })).toThrow(/radsec\.certFile/);
  });
});
