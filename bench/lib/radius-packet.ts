/**
 * The few RADIUS packets the load generator (bench/lib/radius-loadgen.ts) needs, written here
 * rather than taken from the relay (relay/src) or the `radius` package: the generator must not
 * share code with a server under test, so a bug in one is not hidden by the same bug in the
 * other. RFC 2865 (Access-Request, User-Password hiding, Response Authenticator) and RFC 3579
 * (Message-Authenticator). Pure: no sockets, no clock.
 */
import { createHash, createHmac } from "node:crypto";

const ACCESS_REQUEST = 1;
const USER_NAME = 1;
const USER_PASSWORD = 2;
const MESSAGE_AUTHENTICATOR = 80;
const HEADER = 20;

export const REPLY_CODES = { 2: "accept", 3: "reject", 11: "challenge" } as const;
export type ReplyKind = (typeof REPLY_CODES)[keyof typeof REPLY_CODES];

function attribute(type: number, value: Buffer): Buffer {
  if (value.length > 253) throw new Error(`attribute ${type}: ${value.length} bytes, at most 253`);
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

/** RFC 2865 5.2: the password padded to 16-byte blocks, each XORed with MD5(secret + previous block). */
export function hidePassword(password: string, secret: string, requestAuthenticator: Buffer): Buffer {
  const plain = Buffer.from(password, "utf8");
  const out = Buffer.alloc(Math.max(16, Math.ceil(plain.length / 16) * 16));
  plain.copy(out);
  let previous = requestAuthenticator;
  for (let i = 0; i < out.length; i += 16) {
    const pad = createHash("md5").update(secret).update(previous).digest();
    for (let j = 0; j < 16; j++) out[i + j] = (out[i + j] ?? 0) ^ (pad[j] ?? 0);
    previous = out.subarray(i, i + 16);
  }
  return out;
}

/**
 * A signed Access-Request as radclient sent it for the bench (User-Name, User-Password,
 * Message-Authenticator), with the Message-Authenticator first: servers that require it
 * (FreeRADIUS `require_message_authenticator`, the relay) accept it, and a server that
 * checks it is first (the Blast-RADIUS mitigation) too.
 */
export function accessRequest(opts: {
  identifier: number;
  requestAuthenticator: Buffer;
  secret: string;
  user: string;
  password: string;
}): Buffer {
  const attrs = Buffer.concat([
    attribute(MESSAGE_AUTHENTICATOR, Buffer.alloc(16)),
    attribute(USER_NAME, Buffer.from(opts.user, "utf8")),
    attribute(USER_PASSWORD, hidePassword(opts.password, opts.secret, opts.requestAuthenticator)),
  ]);
  const packet = Buffer.concat([Buffer.alloc(4), opts.requestAuthenticator, attrs]);
  packet[0] = ACCESS_REQUEST;
  packet[1] = opts.identifier;
  packet.writeUInt16BE(packet.length, 2);
  // The Message-Authenticator's value starts after the header and its own type and length.
  createHmac("md5", opts.secret)
    .update(packet)
    .digest()
    .copy(packet, HEADER + 2);
  return packet;
}

/**
 * What a reply to `request` is: its kind when its Response Authenticator (MD5 over code, id,
 * length, the request's authenticator, the attributes and the secret) and, if present, its
 * Message-Authenticator (HMAC-MD5 with the request's authenticator in place of the response's)
 * are right; "bad" otherwise, also for a truncated packet or an unknown code. The caller has
 * matched the identifier.
 */
export function verifyReply(reply: Buffer, requestAuthenticator: Buffer, secret: string): ReplyKind | "bad" {
  if (reply.length < HEADER) return "bad";
  const length = reply.readUInt16BE(2);
  if (length < HEADER || length > reply.length) return "bad";
  const packet = reply.subarray(0, length);
  const kind = REPLY_CODES[packet[0] as keyof typeof REPLY_CODES];
  if (kind === undefined) return "bad";
  const expected = createHash("md5")
    .update(packet.subarray(0, 4))
    .update(requestAuthenticator)
    .update(packet.subarray(HEADER))
    .update(secret)
    .digest();
  if (!expected.equals(packet.subarray(4, HEADER))) return "bad";
  let at = HEADER;
  while (at < length) {
    const type = packet[at] ?? 0;
    const len = packet[at + 1] ?? 0;
    if (len < 2 || at + len > length) return "bad";
    if (type === MESSAGE_AUTHENTICATOR) {
      if (len !== 18) return "bad";
      const copy = Buffer.from(packet);
      requestAuthenticator.copy(copy, 4);
      copy.fill(0, at + 2, at + 18);
      const mac = createHmac("md5", secret).update(copy).digest();
      if (!mac.equals(packet.subarray(at + 2, at + 18))) return "bad";
    }
    at += len;
  }
  return kind;
}
