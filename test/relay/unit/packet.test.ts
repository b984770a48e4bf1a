import radius from "radius";
import { describe, expect, it } from "vitest";
import { MA_TYPE, PacketError, checkFraming, decodeRequest, encodeReply, verifyReply } from "../../../relay/src/radius/packet.ts";

const SECRET = "s3cret";
const request = (attrs: Array<[string, string | Buffer]>, withMa = true, id = 7) =>
  radius.encode({ code: "Access-Request", secret: SECRET, identifier: id, add_message_authenticator: withMa, attributes: attrs });

describe("decodeRequest", () => {
  it("decodes attributes and notices the Message-Authenticator", () => {
    const req = decodeRequest(
      request([
        ["User-Name", "alice"],
        ["User-Password", "pässword"],
      ]),
      SECRET,
    );
    expect(req.code).toBe("Access-Request");
    expect(req.identifier).toBe(7);
    expect(req.attributes["User-Name"]).toBe("alice");
    expect(req.attributes["User-Password"]).toBe("pässword");
    expect(req.hasMessageAuthenticator).toBe(true);
    expect(decodeRequest(request([["User-Name", "a"]], false), SECRET).hasMessageAuthenticator).toBe(false);
  });

  it("refuses a Message-Authenticator made with another secret", () => {
    const p = radius.encode({ code: "Access-Request", secret: "other", add_message_authenticator: true, attributes: [["User-Name", "a"]] });
    expect(() => decodeRequest(p, SECRET)).toThrow(/Message-Authenticator mismatch/);
  });

  it("refuses a tampered packet (signed attributes changed)", () => {
    const p = request([["User-Name", "alice"]]);
    p[p.length - 20 - 1] = p[p.length - 20 - 1]! ^ 1; // flip a bit in User-Name ("alice" sits before the MA)
    expect(() => decodeRequest(p, SECRET)).toThrow(PacketError);
  });

  it.each([
    ["empty", Buffer.alloc(0)],
    ["short header", Buffer.alloc(10)],
    ["length below 20", Buffer.concat([Buffer.from([1, 1, 0, 4]), Buffer.alloc(16)])],
    ["truncated", Buffer.concat([Buffer.from([1, 1, 0, 40]), Buffer.alloc(16)])],
    ["zero attribute length", Buffer.concat([Buffer.from([1, 1, 0, 22]), Buffer.alloc(16), Buffer.from([1, 0])])],
    ["attribute overrun", Buffer.concat([Buffer.from([1, 1, 0, 23]), Buffer.alloc(16), Buffer.from([1, 9, 65])])],
    ["short Message-Authenticator", Buffer.concat([Buffer.from([1, 1, 0, 26]), Buffer.alloc(16), Buffer.from([80, 6, 0, 0, 0, 0])])],
  ])("rejects malformed packets: %s", (_n, p) => {
    expect(() => decodeRequest(p, SECRET)).toThrow(PacketError);
  });

  it("rejects two Message-Authenticators", () => {
    const ma = Buffer.concat([Buffer.from([80, 18]), Buffer.alloc(16)]);
    const p = Buffer.concat([Buffer.from([1, 1, 0, 56]), Buffer.alloc(16), ma, ma]);
    expect(() => checkFraming(p)).toThrow(/more than one/);
  });

  it("ignores padding after the Length field", () => {
    const p = Buffer.concat([request([["User-Name", "alice"]]), Buffer.from("padding")]);
    expect(decodeRequest(p, SECRET).attributes["User-Name"]).toBe("alice");
  });
});

describe("encodeReply", () => {
  it("puts Message-Authenticator first and signs reply and MA correctly", () => {
    const raw = request([
      ["User-Name", "alice"],
      ["User-Password", "x"],
      ["Proxy-State", Buffer.from("ps1")],
    ]);
    const req = decodeRequest(raw, SECRET);
    for (const code of ["Access-Accept", "Access-Reject", "Access-Challenge"] as const) {
      const reply = encodeReply(
        req,
        code,
        [
          ["Reply-Message", "hi"],
          ["State", Buffer.alloc(16, 9)],
        ],
        SECRET,
      );
      expect(reply[20]).toBe(MA_TYPE);
      expect(reply[21]).toBe(18);
      // The radius package's own verifier (authenticator + MA) agrees.
      expect(radius.verify_response({ request: raw, response: Buffer.from(reply), secret: SECRET })).toBe(true);
      expect(verifyReply(reply, req.authenticator, SECRET, true)).toBe(true);
      expect(verifyReply(reply, req.authenticator, "wrong", true)).toBe(false);
      const decoded = radius.decode({ packet: reply, secret: SECRET });
      expect(decoded.code).toBe(code);
      expect(decoded.identifier).toBe(7);
      expect(decoded.attributes["Reply-Message"]).toBe("hi");
      expect(decoded.attributes["Proxy-State"]).toEqual(Buffer.from("ps1"));
    }
  });

  it("adds Message-Authenticator even when the request had none", () => {
    const raw = request([["User-Name", "a"]], false);
    const reply = encodeReply(decodeRequest(raw, SECRET), "Access-Reject", [], SECRET);
    expect(reply[20]).toBe(MA_TYPE);
    expect(verifyReply(reply, decodeRequest(raw, SECRET).authenticator, SECRET, true)).toBe(true);
  });

  it("verifyReply refuses a reply whose MA was altered", () => {
    const raw = request([["User-Name", "a"]]);
    const req = decodeRequest(raw, SECRET);
    const reply = encodeReply(req, "Access-Accept", [], SECRET);
    reply[25] = reply[25]! ^ 0xff;
    expect(verifyReply(reply, req.authenticator, SECRET, true)).toBe(false);
  });
});
