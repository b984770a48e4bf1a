import { md5 } from "./digest.ts";

/**
 * The hot path's codec for Access-Request and Status-Server: decodes only the attributes the
 * relay reads and encodes its few reply attributes directly, without the `radius` package's
 * dictionary walk (it decoded and named every attribute of every packet, ~half the codec's
 * time). Same results as the package for these attributes: strings as UTF-8, NAS-IP-Address
 * dotted, an attribute sent twice becomes an array (so the handler's string checks refuse
 * it), User-Password decrypted per RFC 2865 §5.2 with the package's length checks. Framing
 * and the Message-Authenticator are checked by packet.ts before this runs.
 */

const HEADER = 20;
const USER_PASSWORD = 2;

/** The attributes an Access-Request is read for (request-handler.ts), by type. */
const READ: ReadonlyMap<number, { name: string; kind: "text" | "octets" | "ipaddr" | "password" }> = new Map([
  [1, { name: "User-Name", kind: "text" }],
  [USER_PASSWORD, { name: "User-Password", kind: "password" }],
  [4, { name: "NAS-IP-Address", kind: "ipaddr" }],
  [24, { name: "State", kind: "octets" }],
  [32, { name: "NAS-Identifier", kind: "text" }],
] as const);

/** Reply attributes the relay sends, by name. */
const WRITE: Readonly<Record<string, number>> = { "Reply-Message": 18, State: 24 };

export const REPLY_CODES = { "Access-Accept": 2, "Access-Reject": 3, "Accounting-Response": 5, "Access-Challenge": 11 } as const;

export class AccessCodecError extends Error {
  override name = "AccessCodecError";
}

/** `data`: a framed packet (lengths checked), cut at its Length field. */
export function decodeAccessAttributes(
  data: Buffer,
  secret: string,
): { attributes: Record<string, unknown>; rawAttributes: Array<[number, Buffer]> } {
  const attributes: Record<string, unknown> = {};
  const rawAttributes: Array<[number, Buffer]> = [];
  const authenticator = data.subarray(4, HEADER);
  let offset = HEADER;
  while (offset < data.length) {
    const type = data[offset] ?? 0;
    const end = offset + (data[offset + 1] ?? 0);
    const raw = data.subarray(offset + 2, end);
    offset = end;
    rawAttributes.push([type, raw]);
    const read = READ.get(type);
    if (!read) continue;
    const value =
      read.kind === "text"
        ? raw.toString("utf8")
        : read.kind === "ipaddr"
          ? Array.from(raw).join(".")
          : read.kind === "password"
            ? decryptPassword(raw, secret, authenticator)
            : Buffer.from(raw);
    const had = attributes[read.name];
    if (had === undefined) attributes[read.name] = value;
    else if (Array.isArray(had)) had.push(value);
    else attributes[read.name] = [had, value];
  }
  return { attributes, rawAttributes };
}

/** RFC 2865 §5.2; each 16-byte block ends at its first NUL, as the `radius` package reads it. */
export function decryptPassword(field: Buffer, secret: string, authenticator: Buffer): string {
  if (field.length < 16) throw new AccessCodecError("Invalid password: too short");
  if (field.length > 128) throw new AccessCodecError("Invalid password: too long");
  if (field.length % 16 !== 0) throw new AccessCodecError("Invalid password: not padded");
  const parts: Buffer[] = [];
  let previous = authenticator;
  for (let i = 0; i < field.length; i += 16) {
    const hash = md5(secret, previous);
    const block = Buffer.allocUnsafe(16);
    let used = 16;
    for (let j = 0; j < 16; j++) {
      block[j] = (field[i + j] ?? 0) ^ (hash[j] ?? 0);
      if (block[j] === 0) {
        used = j;
        break;
      }
    }
    parts.push(block.subarray(0, used));
    previous = field.subarray(i, i + 16);
  }
  return Buffer.concat(parts).toString("utf8");
}

/**
 * A reply packet with a zeroed Message-Authenticator first, then `attributes`, then the
 * request's Proxy-States; signReply (packet.ts) fills in both authenticators.
 */
export function encodeAccessReply(
  code: keyof typeof REPLY_CODES,
  identifier: number,
  attributes: Array<[string, string | Buffer]>,
  proxyStates: Buffer[],
): Buffer {
  const parts: Buffer[] = [Buffer.alloc(HEADER), Buffer.from([80, 18]), Buffer.alloc(16)];
  let length = HEADER + 18;
  const add = (type: number, value: Buffer) => {
    if (value.length > 253) throw new AccessCodecError(`reply attribute ${type} longer than 253 bytes`);
    parts.push(Buffer.from([type, value.length + 2]), value);
    length += value.length + 2;
  };
  for (const [name, value] of attributes) {
    const type = WRITE[name];
    if (type === undefined) throw new AccessCodecError(`reply attribute ${name} is not one the relay sends`);
    add(type, typeof value === "string" ? Buffer.from(value, "utf8") : value);
  }
  for (const state of proxyStates) add(33, state);
  if (length > 4096) throw new AccessCodecError("reply longer than 4096 bytes");
  const packet = Buffer.concat(parts, length);
  packet[0] = REPLY_CODES[code];
  packet[1] = identifier;
  packet.writeUInt16BE(length, 2);
  return packet;
}
