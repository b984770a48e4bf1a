import { BlockList, isIP } from "node:net";
import type { RadsecClientConfig } from "./config.ts";

/**
 * Which configured RadSec client a verified TLS connection is. The certificate (its names, its
 * fingerprint) and the connection's source address decide; nothing in a packet does. The CA
 * check happened in the handshake already.
 */
export interface PeerCertificate {
  /** SHA-256 of the leaf's DER, 64 lower-case hex digits. */
  fingerprint256: string;
  /** True when the certificate is issued for this DNS name or IP (SAN, else the subject CN). */
  isFor(name: string): boolean;
}

export type ClientMatch =
  | { kind: "client"; client: RadsecClientConfig }
  | { kind: "refused"; reason: "unknown_certificate" | "pin_mismatch" | "address_not_allowed"; client?: string };

export function matchRadsecClient(clients: readonly RadsecClientConfig[], cert: PeerCertificate, address: string): ClientMatch {
  const checked = clients.map((client) => ({
    client,
    nameOk: client.certName === undefined || cert.isFor(client.certName),
    pinOk: client.certFingerprintSha256 === undefined || client.certFingerprintSha256 === cert.fingerprint256,
    addressOk: client.address === undefined || addressIn(address, client.address),
  }));
  const hit = checked.find((c) => c.nameOk && c.pinOk && c.addressOk);
  if (hit) return { kind: "client", client: hit.client };
  // The closest miss names the refusal: a known certificate from elsewhere, then the right
  // name with another key (a pin mismatch), else a certificate no entry names.
  const elsewhere = checked.find((c) => c.nameOk && c.pinOk);
  if (elsewhere) return { kind: "refused", reason: "address_not_allowed", client: elsewhere.client.name };
  const repinned = checked.find((c) => c.client.certName !== undefined && c.nameOk && !c.pinOk);
  if (repinned) return { kind: "refused", reason: "pin_mismatch", client: repinned.client.name };
  return { kind: "refused", reason: "unknown_certificate" };
}

/** Whether any client could be reached from this address (a cheap check before the handshake). */
export function addressMayConnect(clients: readonly RadsecClientConfig[], address: string): boolean {
  return clients.some((c) => c.address === undefined || addressIn(address, c.address));
}

function addressIn(address: string, cidr: string): boolean {
  const plain = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  if (!family) return false;
  const [net = "", bits] = cidr.split("/");
  const netFamily = isIP(net);
  if (netFamily !== family) return false;
  const type = family === 6 ? "ipv6" : "ipv4";
  const list = new BlockList();
  list.addSubnet(net, bits === undefined ? (family === 6 ? 128 : 32) : Number(bits), type);
  return list.check(plain, type);
}
