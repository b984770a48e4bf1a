/**
 * The two wire forms of "set this user's password" (pure, unit-tested):
 * - OpenLDAP: the RFC 3062 Password Modify extended request value,
 *   PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0] OCTET STRING OPTIONAL,
 *   oldPasswd [1] OCTET STRING OPTIONAL, newPasswd [2] OCTET STRING OPTIONAL }.
 *   No oldPasswd: a service account resets it (the user proved themselves to the edge).
 * - Active Directory: `unicodePwd`, the password in double quotes, UTF-16LE.
 */
export const PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1";

function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), berLength(body.length), body]);
}

export function passwordModifyRequest(userDn: string, newPassword: string): Buffer {
  return tlv(0x30, Buffer.concat([tlv(0x80, Buffer.from(userDn, "utf8")), tlv(0x82, Buffer.from(newPassword, "utf8"))]));
}

export function adUnicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, "utf16le");
}
