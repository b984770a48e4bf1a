import { checkedSeed, TokenInputError, tokenParams, tokenUsername, type NewToken } from "./token-record.ts";
import { childNamed, childrenNamed, parseXml, type XmlElement } from "./xml.ts";

/**
 * Hardware token seeds from a PSKC key container (RFC 6030), unencrypted: each
 * <KeyPackage><Key Algorithm="…totp"> gives one token.
 *
 * - user: <Key><UserId>, else <KeyPackage><DeviceInfo><UserId> (required: a token that names
 *   no user cannot be assigned; add the UserId to the file);
 * - seed: <Data><Secret><PlainValue> (base64). <EncryptedValue> (a container protected with
 *   a pre-shared key or certificate) is refused: decrypt it with the vendor's tool first;
 * - digits: <AlgorithmParameters><ResponseFormat Length="6|8" Encoding="DECIMAL">;
 * - period: <Data><TimeInterval><PlainValue> (default 30); <Data><Time> (T0) must be 0;
 * - algorithm: <AlgorithmParameters><Suite> (HMAC-SHA1, HMAC-SHA256, HMAC-SHA512; default SHA1);
 * - serial: <DeviceInfo><SerialNo>.
 */
export const PSKC_NS = "urn:ietf:params:xml:ns:keyprov:pskc";

export function parsePskc(text: string): NewToken[] {
  const root = parseXml(text, "PSKC");
  if (root.name !== "KeyContainer" || root.ns !== PSKC_NS) {
    throw new TokenInputError(`PSKC line ${root.line}: the root must be <KeyContainer xmlns="${PSKC_NS}">`);
  }
  if (childNamed(root, "EncryptionKey") || childNamed(root, "MACMethod")) {
    throw new TokenInputError(
      `PSKC line ${root.line}: this key container is encrypted (<EncryptionKey>); only unencrypted PSKC (<Secret><PlainValue>) is supported; decrypt it with the vendor's tool first`,
    );
  }
  const packages = childrenNamed(root, "KeyPackage");
  if (packages.length === 0) throw new TokenInputError(`PSKC line ${root.line}: no <KeyPackage>`);
  const seen = new Map<string, string>();
  return packages.map((pkg, i) => {
    const token = keyPackage(pkg, i + 1);
    const earlier = seen.get(token.username);
    if (earlier) throw new TokenInputError(`${where(pkg, i + 1)}: user "${token.username}" already has a token in ${earlier}`);
    seen.set(token.username, where(pkg, i + 1));
    return token;
  });
}

function where(pkg: XmlElement, n: number): string {
  const serial = childNamed(childNamed(pkg, "DeviceInfo"), "SerialNo")?.text.trim();
  return `PSKC KeyPackage ${n} (line ${pkg.line}${serial ? `, serial ${serial}` : ""})`;
}

function keyPackage(pkg: XmlElement, n: number): NewToken {
  const at = where(pkg, n);
  const keys = childrenNamed(pkg, "Key");
  const key = keys[0];
  if (!key || keys.length > 1) throw new TokenInputError(`${at}: needs exactly one <Key>`);
  const algorithm = key.attrs.get("Algorithm") ?? "";
  if (!/[:#]totp$/i.test(algorithm)) {
    throw new TokenInputError(`${at}: field "Key/@Algorithm" is "${algorithm}"; only TOTP keys (…:totp) can be imported`);
  }
  const device = childNamed(pkg, "DeviceInfo");
  const userId = childNamed(key, "UserId") ?? childNamed(device, "UserId");
  if (!userId) throw new TokenInputError(`${at}: no <UserId> in <Key> or <DeviceInfo>: add the user the token is for`);
  const username = tokenUsername(userId.text, at);

  const data = childNamed(key, "Data");
  const secret = childNamed(data, "Secret");
  if (childNamed(secret, "EncryptedValue")) {
    throw new TokenInputError(`${at}: field "Data/Secret" is encrypted (<EncryptedValue>); only <PlainValue> is supported`);
  }
  const plain = childNamed(secret, "PlainValue")?.text.replace(/\s/g, "");
  if (!plain) throw new TokenInputError(`${at}: field "Data/Secret/PlainValue" is missing`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(plain) || plain.length % 4 !== 0) {
    throw new TokenInputError(`${at}: field "Data/Secret/PlainValue" is not base64`);
  }
  const seed = checkedSeed(Uint8Array.from(Buffer.from(plain, "base64")), at, "Data/Secret/PlainValue");

  const t0 = childNamed(childNamed(data, "Time"), "PlainValue")?.text.trim();
  if (t0 !== undefined && t0 !== "0") throw new TokenInputError(`${at}: field "Data/Time" (T0) is ${t0}; only 0 is supported`);
  const params = childNamed(key, "AlgorithmParameters");
  const format = childNamed(params, "ResponseFormat");
  const encoding = format?.attrs.get("Encoding");
  if (encoding !== undefined && encoding.toUpperCase() !== "DECIMAL") {
    throw new TokenInputError(`${at}: field "ResponseFormat/@Encoding" is "${encoding}"; only DECIMAL codes are supported`);
  }
  const serial = childNamed(device, "SerialNo")?.text.trim();
  return {
    username,
    seed,
    params: tokenParams(
      {
        digits: format?.attrs.get("Length"),
        period: childNamed(childNamed(data, "TimeInterval"), "PlainValue")?.text,
        algorithm: childNamed(params, "Suite")?.text,
      },
      at,
    ),
    ...(serial ? { serial } : {}),
    origin: "pskc",
  };
}
