import { isIP } from "node:net";
import { z } from "zod";
import { SecondFactorSchema, TotpSourceSchema } from "../second-factor.ts";

/**
 * The `radsec` block of the relay config: RADIUS over TLS (RFC 6614). A NAS (or a proxy such as
 * radsecproxy) is identified by its client certificate, never by what its packets say.
 */

/** "AB:CD:…" (openssl, node) or plain hex, any case: stored as 64 lower-case hex digits. */
const FingerprintSchema = z
  .string()
  .transform((s) => s.replace(/[:\s]/g, "").toLowerCase())
  .refine((s) => /^[0-9a-f]{64}$/.test(s), "certFingerprintSha256 must be a SHA-256 fingerprint: 64 hex digits, colons allowed");

const AddressSchema = z.string().refine((a) => {
  const [addr, bits, ...rest] = a.split("/");
  const family = isIP(addr ?? "");
  if (!family || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 6 ? 128 : 32);
}, "address must be an IP address or a CIDR block, e.g. 10.0.10.0/24");

const RadsecClientSchema = z
  .object({
    name: z.string().min(1),
    /** A DNS name (or IP) the certificate must be issued for: its SAN, else its subject CN. */
    certName: z.string().min(1).optional(),
    /** Pins the leaf certificate: SHA-256 of its DER (`openssl x509 -noout -fingerprint -sha256`). */
    certFingerprintSha256: FingerprintSchema.optional(),
    /** Optional extra condition: the connection's source address or CIDR block. */
    address: AddressSchema.optional(),
    /** BlastRADIUS rule as for UDP clients; the RadSec leg is signed with the secret "radsec". */
    requireMessageAuthenticator: z.boolean().default(true),
    secondFactor: SecondFactorSchema.optional(),
    totpSource: TotpSourceSchema.optional(),
  })
  .refine((c) => c.certName !== undefined || c.certFingerprintSha256 !== undefined, {
    message: "a radsec client needs certName or certFingerprintSha256: the certificate, not only the CA, names the client",
    path: ["certName"],
  });
export type RadsecClientConfig = z.infer<typeof RadsecClientSchema>;

export const RadsecSchema = z.object({
  listen: z
    .object({ host: z.string().default("0.0.0.0"), port: z.number().int().min(0).max(65535).default(2083) })
    .default({ host: "0.0.0.0", port: 2083 }),
  /** The relay's certificate chain and key (PEM). */
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  /** The CA(s) that issue client certificates (PEM); only these are trusted, not the system store. */
  caFile: z.string().min(1),
  /** First match wins: list pinned or narrower entries before broader ones. */
  clients: z.array(RadsecClientSchema).min(1),
  handshakeTimeoutSeconds: z.number().int().min(1).max(60).default(5),
  /** A connection with no request in flight and no traffic for this long is closed. */
  idleTimeoutSeconds: z.number().int().min(1).max(86_400).default(600),
  /** Open TLS connections at most (handshakes included); more are refused at accept. */
  maxConnections: z.number().int().min(1).max(10_000).default(100),
  /** Requests one connection may have in flight; beyond that the relay stops reading it. */
  maxPacketsInFlightPerConnection: z.number().int().min(1).max(256).default(32),
});
export type RadsecConfig = z.infer<typeof RadsecSchema>;

/** RFC 6614 §2.3: over TLS the RADIUS shared secret is the fixed string "radsec". */
export const RADSEC_SECRET = "radsec";
