import radius from "radius";
import { describe, expect, it } from "vitest";
import { RELAY_CALLS } from "../../../core/contracts/relay-api.ts";
import { quickTouchAnswer } from "../../../relay/src/edge-response.ts";
import { decodeAccessAttributes } from "../../../relay/src/radius/access-codec.ts";
import { decodeRequest, encodeReply, verifyReply } from "../../../relay/src/radius/packet.ts";

/**
 * The hot path's lean codec (relay/src/radius/access-codec.ts) gives what the `radius`
 * package gave for the attributes the relay reads, and its replies verify; the Touch
 * answer's hand check never accepts what the contract's schema refuses.
 */
const SECRET = "s3cret";
const READ = ["User-Name", "User-Password", "NAS-IP-Address", "State", "NAS-Identifier"] as const;

function packageView(packet: Buffer): Record<string, unknown> {
  const all = radius.decode({ packet, secret: SECRET }).attributes as Record<string, unknown>;
  return Object.fromEntries(READ.filter((n) => all[n] !== undefined).map((n) => [n, all[n]]));
}

describe("lean Access-Request decoding", () => {
  const cases: Array<[string, Array<[string, string | Buffer]>]> = [
    [
      "user and password",
      [
        ["User-Name", "alice"],
        ["User-Password", "pässword"],
      ],
    ],
    [
      "long password (3 blocks)",
      [
        ["User-Name", "bob"],
        ["User-Password", "x".repeat(40)],
      ],
    ],
    [
      "exactly 16 bytes",
      [
        ["User-Name", "bob"],
        ["User-Password", "y".repeat(16)],
      ],
    ],
    [
      "state and NAS fields",
      [
        ["User-Name", "c"],
        ["State", Buffer.from("0102ff", "hex")],
        ["NAS-Identifier", "vpn-1"],
        ["NAS-IP-Address", "10.1.2.3"],
      ],
    ],
    [
      "User-Name twice",
      [
        ["User-Name", "a"],
        ["User-Name", "b"],
        ["User-Password", "p"],
      ],
    ],
    [
      "other attributes",
      [
        ["User-Name", "d"],
        ["Calling-Station-Id", "1.2.3.4"],
        ["NAS-Port", 7 as unknown as string],
      ],
    ],
  ];
  it.each(cases)("%s: the same values as the radius package", (_name, attrs) => {
    const packet = radius.encode({
      code: "Access-Request",
      secret: SECRET,
      identifier: 9,
      add_message_authenticator: true,
      attributes: attrs,
    });
    const lean = decodeAccessAttributes(packet, SECRET).attributes;
    expect(lean).toEqual(packageView(packet));
    expect(decodeRequest(packet, SECRET).attributes).toEqual(lean);
  });

  it("refuses a User-Password that is not a padded 16-128 byte field", () => {
    for (const len of [0, 5, 17, 144]) {
      const attr = Buffer.concat([Buffer.from([2, len + 2]), Buffer.alloc(len, 1)]);
      const head = Buffer.alloc(20);
      head[0] = 1;
      head.writeUInt16BE(20 + attr.length, 2);
      expect(() => decodeAccessAttributes(Buffer.concat([head, attr]), SECRET)).toThrow(/Invalid password/);
    }
  });

  it("a reply with Reply-Message, State and the echoed Proxy-States verifies and reads back", () => {
    const raw = radius.encode({
      code: "Access-Request",
      secret: SECRET,
      identifier: 3,
      add_message_authenticator: true,
      attributes: [
        ["User-Name", "alice"],
        ["Proxy-State", Buffer.from("p1")],
        ["Proxy-State", Buffer.from("p2")],
      ],
    });
    const req = decodeRequest(raw, SECRET);
    const reply = encodeReply(
      req,
      "Access-Challenge",
      [
        ["Reply-Message", "Code?"],
        ["State", Buffer.from("abcd", "hex")],
      ],
      SECRET,
    );
    expect(verifyReply(reply, req.authenticator, SECRET, true)).toBe(true);
    const back = radius.decode({ packet: reply, secret: SECRET, request: raw } as never) as unknown as {
      code: string;
      identifier: number;
      attributes: Record<string, unknown>;
      raw_attributes: Array<[number, Buffer]>;
    };
    expect(back.code).toBe("Access-Challenge");
    expect(back.identifier).toBe(3);
    expect(back.attributes["Reply-Message"]).toBe("Code?");
    expect(back.attributes.State).toEqual(Buffer.from("abcd", "hex"));
    expect(back.raw_attributes.filter(([t]) => t === 33).map(([, v]) => v.toString())).toEqual(["p1", "p2"]);
    expect(back.raw_attributes[0]?.[0]).toBe(80); // Message-Authenticator first
  });

  it("refuses reply attributes it does not know rather than sending them wrong", () => {
    const req = decodeRequest(
      radius.encode({ code: "Access-Request", secret: SECRET, add_message_authenticator: true, attributes: [["User-Name", "a"]] }),
      SECRET,
    );
    expect(() => encodeReply(req, "Access-Accept", [["Filter-Id", "x"]], SECRET)).toThrow(/not one the relay sends/);
  });
});

describe("quick Touch answer check", () => {
  const schema = RELAY_CALLS.touch.answer;
  const bodies: unknown[] = [
    { code: "TOUCH_ACCEPTED" },
    { code: "TOUCH_REJECTED" },
    { code: "BAD_REQUEST", reason: "x" },
    { code: "MAYBE" },
    { code: 1 },
    { code: "TOUCH_ACCEPTED", extra: true },
    { valid: true },
    ["code", "TOUCH_ACCEPTED"],
    null,
    "TOUCH_ACCEPTED",
    {},
    Object.create({ code: "TOUCH_ACCEPTED" }),
  ];
  it.each(bodies.map((b) => [JSON.stringify(b), b]))("%s: accepted only as the schema would, with the same value", (_s, body) => {
    const quick = quickTouchAnswer(body);
    if (quick !== undefined) expect(schema.parse(body)).toEqual(quick);
  });
  it("takes the common answer itself", () => {
    expect(quickTouchAnswer(JSON.parse('{"code":"TOUCH_ACCEPTED"}'))).toEqual({ code: "TOUCH_ACCEPTED" });
    expect(quickTouchAnswer(JSON.parse('{"code":"TOUCH_MAYBE"}'))).toBeUndefined();
  });
});
