import { createHash, createHmac } from "node:crypto";
import radius from "radius";
import { describe, expect, it } from "vitest";
import {
  MA_TYPE,
  PacketError,
  decodeRequest,
  encodeAccountingRequest,
  encodeAccountingResponse,
  verifyReply,
} from "../../../relay/src/radius/packet.ts";

/** The Accounting-Request codec (RFC 2866), checked against node-radius and a hand-made FreeRADIUS-style MA. */
const SECRET = "acct-s3cret";
const ATTRS: Array<[string, string | number]> = [
  ["User-Name", "alice"],
  ["Acct-Status-Type", "Start"],
  ["Acct-Session-Id", "sess-0001"],
];
const accountingRequest = (secret = SECRET, id = 9) =>
  radius.encode({ code: "Accounting-Request", secret, identifier: id, add_message_authenticator: false, attributes: ATTRS });

/** As FreeRADIUS signs one: MA over the packet with a zero authenticator, then the authenticator over the packet. */
function withFreeRadiusMa(secret: string): Buffer {
  const body = Buffer.concat([Buffer.from([1, 7]), Buffer.from("alice"), Buffer.from([MA_TYPE, 18]), Buffer.alloc(16)]);
  const p = Buffer.concat([Buffer.from([4, 3, 0, 20 + body.length]), Buffer.alloc(16), body]);
  createHmac("md5", secret)
    .update(p)
    .digest()
    .copy(p, p.length - 16);
  createHash("md5").update(p).update(secret).digest().copy(p, 4);
  return p;
}

describe("Accounting-Request", () => {
  it("decodes a request node-radius signed, and reads its attributes", () => {
    const req = decodeRequest(accountingRequest(), SECRET);
    expect(req.code).toBe("Accounting-Request");
    expect(req.identifier).toBe(9);
    expect(req.attributes["User-Name"]).toBe("alice");
    expect(req.attributes["Acct-Status-Type"]).toBe("Start");
    expect(req.attributes["Acct-Session-Id"]).toBe("sess-0001");
    expect(req.hasMessageAuthenticator).toBe(false);
  });

  it("refuses a request signed with another secret", () => {
    expect(() => decodeRequest(accountingRequest("other-secret"), SECRET)).toThrow(/Request Authenticator mismatch/);
  });

  it("refuses any changed byte: header, attributes or authenticator", () => {
    const good = accountingRequest();
    for (let i = 0; i < good.length; i++) {
      if (i === 2 || i === 3) continue; // the length field: a framing error instead
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x01;
      expect(() => decodeRequest(bad, SECRET), `byte ${i}`).toThrow(PacketError);
    }
  });

  it("verifies a Message-Authenticator computed over a zero authenticator (FreeRADIUS), and refuses a forged one", () => {
    const p = withFreeRadiusMa(SECRET);
    expect(decodeRequest(p, SECRET).hasMessageAuthenticator).toBe(true);
    // Forge the MA, then fix up the authenticator as a sender who knows the secret would:
    // the MA check alone must catch it.
    const forged = Buffer.from(p);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff;
    forged.fill(0, 4, 20);
    createHash("md5").update(forged).update(SECRET).digest().copy(forged, 4);
    expect(() => decodeRequest(forged, SECRET)).toThrow(/Message-Authenticator mismatch/);
  });
});

describe("encodeAccountingRequest (forwarding)", () => {
  it("re-signs the attributes with the upstream's secret and a new identifier, without the NAS's MA", () => {
    const original = decodeRequest(withFreeRadiusMa(SECRET), SECRET);
    const forwarded = encodeAccountingRequest(200, original.rawAttributes, "upstream-secret");
    const again = decodeRequest(forwarded, "upstream-secret");
    expect(again.identifier).toBe(200);
    expect(again.attributes["User-Name"]).toBe("alice");
    expect(again.hasMessageAuthenticator).toBe(false);
    expect(() => decodeRequest(forwarded, SECRET)).toThrow(/Request Authenticator mismatch/);
    // An independent implementation agrees.
    expect(radius.decode({ packet: forwarded, secret: "upstream-secret" }).attributes["User-Name"]).toBe("alice");
  });

  it("refuses a record that would not fit one packet", () => {
    const many = Array.from({ length: 20 }, () => [26, Buffer.alloc(250)] as [number, Buffer]);
    expect(() => encodeAccountingRequest(1, many, SECRET)).toThrow(/too long/);
  });
});

describe("Accounting-Response", () => {
  it("is code 5, echoes Proxy-State and verifies against the request (ours and node-radius)", () => {
    const packet = radius.encode({
      code: "Accounting-Request",
      secret: SECRET,
      identifier: 77,
      add_message_authenticator: false,
      attributes: [...ATTRS, ["Proxy-State", Buffer.from("hop-1")]],
    });
    const req = decodeRequest(packet, SECRET);
    const reply = encodeAccountingResponse(req, SECRET);
    expect(reply[0]).toBe(5);
    expect(reply[1]).toBe(77);
    expect(reply.includes(Buffer.from("hop-1"))).toBe(true);
    expect(reply.readUInt16BE(2)).toBe(reply.length);
    expect(verifyReply(reply, req.authenticator, SECRET, false)).toBe(true);
    expect(verifyReply(reply, req.authenticator, SECRET, true)).toBe(false); // no Message-Authenticator in it
    expect(verifyReply(reply, req.authenticator, "other-secret", false)).toBe(false);
    expect(radius.verify_response({ request: packet, response: Buffer.from(reply), secret: SECRET })).toBe(true);
  });
});
