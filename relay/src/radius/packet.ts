import { timingSafeEqual } from "node:crypto";
import { hmacMd5, md5 } from "./digest.ts";
import radius from "radius";
import { AccessCodecError, decodeAccessAttributes, encodeAccessReply } from "./access-codec.ts";

/**
 * RADIUS codec on top of the `radius` package, plus what it lacks for BlastRADIUS
 * (CVE-2024-3596) hardening: it only verifies a request's Message-Authenticator when one is
 * present and puts the reply's last; we can require it per client and always put it first
 * in Access-Accept/Reject/Challenge, as FreeRADIUS 3.2.5+ does.
 */
export const MA_TYPE = 80;
const MA_LENGTH = 18; // type + length + 16-byte HMAC-MD5
const HEADER = 20;

export type ReplyCode = "Access-Accept" | "Access-Reject" | "Access-Challenge";
export const ACCOUNTING_REQUEST = 4;

export interface RadiusRequest {
  code: string;
  identifier: number;
  authenticator: Buffer;
  attributes: Record<string, unknown>;
  /** Raw [type, value] pairs, for Proxy-State echoing. */
  rawAttributes: Array<[number, Buffer]>;
  hasMessageAuthenticator: boolean;
}

export class PacketError extends Error {
  override name = "PacketError";
}

/** Structural check before decoding: RFC 2865 §3 lengths and attribute framing. */
export function checkFraming(packet: Buffer): void {
  if (packet.length < HEADER) throw new PacketError(`packet too short (${packet.length} bytes)`);
  const length = packet.readUInt16BE(2);
  if (length < HEADER || length > 4096) throw new PacketError(`invalid length field ${length}`);
  if (packet.length < length) throw new PacketError(`truncated packet (${packet.length} < ${length})`);
  let offset = HEADER;
  let maCount = 0;
  while (offset < length) {
    if (offset + 2 > length) throw new PacketError("attribute header overruns packet");
    const type = packet[offset]!;
    const alen = packet[offset + 1]!;
    if (alen < 2 || offset + alen > length) throw new PacketError(`attribute ${type} has bad length ${alen}`);
    if (type === MA_TYPE) {
      maCount++;
      if (alen !== MA_LENGTH) throw new PacketError("Message-Authenticator has wrong length");
    }
    offset += alen;
  }
  if (maCount > 1) throw new PacketError("more than one Message-Authenticator");
}

/** Reads the code without the secret (to pick the client's handling before decoding). */
export function peekCode(packet: Buffer): number {
  return packet[0]!;
}

/** Codes we accept as requests: Access-Request (1), Accounting-Request (4) and Status-Server (12). */
const REQUEST_CODES = new Set([1, ACCOUNTING_REQUEST, 12]);

/**
 * RFC 2866 §3: an Accounting-Request's authenticator is MD5(Code + Identifier + Length +
 * 16 zero octets + Attributes + Secret), so unlike an Access-Request's random one it proves
 * the sender knows the secret and covers every byte.
 */
function accountingRequestAuthenticator(data: Buffer, secret: string): Buffer {
  const copy = Buffer.from(data);
  copy.fill(0, 4, HEADER);
  return md5(copy, secret);
}

/**
 * Checks a request's Message-Authenticator over the raw bytes: HMAC-MD5 of the packet with
 * the MA value zeroed (RFC 3579 §3.2), compared in constant time. We do not rely on the
 * `radius` package here: fuzzing showed it compares MAs as UTF-8 strings, where all bytes
 * that are invalid UTF-8 collapse to U+FFFD, so many forged MAs would pass. In an
 * Accounting-Request the authenticator field is zeroed too (it is computed after the MA), as
 * FreeRADIUS signs it (RFC 5176 §3.5 does the same for CoA).
 */
function verifyRequestMa(data: Buffer, secret: string): boolean | null {
  let offset = HEADER;
  while (offset < data.length) {
    const type = data[offset]!;
    const alen = data[offset + 1]!;
    if (type === MA_TYPE) {
      const copy = Buffer.from(data);
      const got = Buffer.from(copy.subarray(offset + 2, offset + alen));
      copy.fill(0, offset + 2, offset + alen);
      if (data[0] === ACCOUNTING_REQUEST) copy.fill(0, 4, HEADER);
      return timingSafeEqual(got, hmacMd5(secret, copy));
    }
    offset += alen;
  }
  return null; // no Message-Authenticator present
}

/**
 * Decodes and authenticates a request with the client's secret. Throws PacketError when the
 * packet is malformed, not a request, its Message-Authenticator does not verify (wrong
 * secret or forged), or, for an Accounting-Request, its Request Authenticator does not.
 */
export function decodeRequest(packet: Buffer, secret: string): RadiusRequest {
  checkFraming(packet);
  if (!REQUEST_CODES.has(packet[0]!)) throw new PacketError(`code ${packet[0]} is not a request we serve`);
  const length = packet.readUInt16BE(2);
  const data = packet.subarray(0, length); // bytes past Length are padding (RFC 2865 §3)
  const accounting = data[0] === ACCOUNTING_REQUEST;
  if (accounting && !timingSafeEqual(data.subarray(4, HEADER), accountingRequestAuthenticator(data, secret))) {
    throw new PacketError("Request Authenticator mismatch (wrong secret or forged packet)");
  }
  const ma = verifyRequestMa(data, secret);
  if (ma === false) throw new PacketError("Message-Authenticator mismatch (wrong secret or forged packet)");
  if (!accounting) {
    // Access-Request and Status-Server: the lean codec (access-codec.ts), the hot path.
    let read: ReturnType<typeof decodeAccessAttributes>;
    try {
      read = decodeAccessAttributes(data, secret);
    } catch (e) {
      throw new PacketError(e instanceof AccessCodecError ? e.message : String(e));
    }
    return {
      code: data[0] === 1 ? "Access-Request" : "Status-Server",
      identifier: data[1] ?? 0,
      authenticator: Buffer.from(data.subarray(4, 20)),
      attributes: read.attributes,
      rawAttributes: read.rawAttributes,
      hasMessageAuthenticator: ma === true,
    };
  }
  let decoded: ReturnType<typeof radius.decode>;
  try {
    // Accounting: both authenticators are checked above over the raw bytes; the package
    // would check the MA over the unzeroed authenticator (and as strings), so skip its checks.
    decoded = radius.decode_without_secret({ packet: Buffer.from(data) });
  } catch (e) {
    throw new PacketError((e as Error).message);
  }
  const raw = (decoded as unknown as { raw_attributes: Array<[number, Buffer]> }).raw_attributes;
  return {
    code: decoded.code,
    identifier: decoded.identifier,
    authenticator: Buffer.from(data.subarray(4, 20)),
    attributes: decoded.attributes as Record<string, unknown>,
    rawAttributes: raw,
    hasMessageAuthenticator: ma === true,
  };
}

/**
 * Encodes a reply with Message-Authenticator as the FIRST attribute, Proxy-State echoed
 * (RFC 2865 §5.33), then signs it: HMAC-MD5 over the packet with the request authenticator
 * in place (RFC 3579 §3.2), then the Response Authenticator.
 */
export function encodeReply(
  request: Pick<RadiusRequest, "identifier" | "authenticator" | "rawAttributes">,
  /** Accounting-Response here only answers a Status-Server (RFC 5997 §3, signed like an Access-Accept). */
  code: ReplyCode | "Accounting-Response",
  attributes: Array<[string, string | Buffer]>,
  secret: string,
): Buffer {
  const proxyStates = request.rawAttributes.filter(([t]) => t === 33).map(([, v]) => v);
  return signReply(encodeAccessReply(code, request.identifier, attributes, proxyStates), request.authenticator, secret);
}

/**
 * An Accounting-Response (RFC 2866 §3), Proxy-State echoed, with only its Response
 * Authenticator: no Message-Authenticator, which RFC 2866 does not define and implementations
 * compute differently (FreeRADIUS over a zeroed authenticator, others over the request's).
 */
export function encodeAccountingResponse(
  request: Pick<RadiusRequest, "identifier" | "authenticator" | "rawAttributes">,
  secret: string,
): Buffer {
  const proxyState = request.rawAttributes.filter(([t]) => t === 33).map(([t, v]) => [t, v] as [number, Buffer]);
  const out = radius.encode({
    code: "Accounting-Response",
    identifier: request.identifier,
    secret,
    add_message_authenticator: false,
    attributes: proxyState,
  });
  request.authenticator.copy(out, 4);
  md5(out, secret).copy(out, 4);
  return out;
}

/**
 * An Accounting-Request carrying `rawAttributes` (Message-Authenticator left out), signed
 * with `secret` (RFC 2866 §3): how the relay forwards a NAS's record upstream.
 */
export function encodeAccountingRequest(identifier: number, rawAttributes: Array<[number, Buffer]>, secret: string): Buffer {
  const body = Buffer.concat(
    rawAttributes
      .filter(([type]) => type !== MA_TYPE)
      .map(([type, value]) => Buffer.concat([Buffer.from([type, value.length + 2]), value])),
  );
  if (HEADER + body.length > 4096) throw new PacketError("accounting record too long to forward");
  const packet = Buffer.alloc(HEADER + body.length);
  packet[0] = ACCOUNTING_REQUEST;
  packet[1] = identifier;
  packet.writeUInt16BE(packet.length, 2);
  body.copy(packet, HEADER);
  accountingRequestAuthenticator(packet, secret).copy(packet, 4);
  return packet;
}

export function signReply(packet: Buffer, requestAuthenticator: Buffer, secret: string): Buffer {
  if (packet[HEADER] !== MA_TYPE || packet[HEADER + 1] !== MA_LENGTH) {
    throw new Error("signReply expects Message-Authenticator as the first attribute");
  }
  const out = Buffer.from(packet);
  requestAuthenticator.copy(out, 4);
  out.fill(0, HEADER + 2, HEADER + MA_LENGTH);
  hmacMd5(secret, out).copy(out, HEADER + 2);
  md5(out, secret).copy(out, 4);
  return out;
}

/** Verifies a reply's authenticators (used by the upstream-RADIUS first factor and tests). */
export function verifyReply(reply: Buffer, requestAuthenticator: Buffer, secret: string, requireMa: boolean): boolean {
  try {
    checkFraming(reply);
  } catch {
    return false;
  }
  const length = reply.readUInt16BE(2);
  const r = Buffer.from(reply.subarray(0, length));
  const got = Buffer.from(r.subarray(4, 20));
  requestAuthenticator.copy(r, 4);
  const expected = md5(r, secret);
  if (!timingSafeEqual(got, expected)) return false;
  let offset = HEADER;
  while (offset < length) {
    const type = r[offset]!;
    const alen = r[offset + 1]!;
    if (type === MA_TYPE) {
      const ma = Buffer.from(r.subarray(offset + 2, offset + alen));
      r.fill(0, offset + 2, offset + alen);
      return timingSafeEqual(ma, hmacMd5(secret, r));
    }
    offset += alen;
  }
  return !requireMa;
}
