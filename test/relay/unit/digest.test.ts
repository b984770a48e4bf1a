import { createHash, createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmacMd5, md5, sha256Hex } from "../../../relay/src/radius/digest.ts";

/**
 * The relay's one-shot digests (relay/src/radius/digest.ts) give the bytes node:crypto's
 * Hash and Hmac objects give, for the inputs RADIUS feeds them: secrets of every length
 * around HMAC's 64-byte block (longer ones are hashed first), UTF-8 secrets, empty and
 * packet-sized data.
 */
const SECRET_LENGTHS = [0, 1, 6, 16, 63, 64, 65, 100, 200];

function randomSecret(length: number): string {
  // Mixed ASCII and multi-byte characters: the key is the secret's UTF-8 bytes.
  const alphabet = "abcXYZ019!é€𝄞";
  return Array.from({ length }, () => [...alphabet][Math.floor(Math.random() * [...alphabet].length)]).join("");
}

describe("relay digests", () => {
  it("hmacMd5 equals createHmac('md5') for secrets shorter than, equal to and longer than the block", () => {
    for (const length of SECRET_LENGTHS) {
      for (let i = 0; i < 20; i++) {
        const secret = randomSecret(length);
        const data = randomBytes(Math.floor(Math.random() * 4096));
        expect(hmacMd5(secret, data).equals(createHmac("md5", secret).update(data).digest()), `secret of ${length} characters`).toBe(true);
      }
    }
  });

  it("hmacMd5 at the block's edge: ASCII secrets of 63, 64, 65 and 128 bytes", () => {
    const data = randomBytes(100);
    for (const length of [63, 64, 65, 128]) {
      const secret = "k".repeat(length);
      expect(hmacMd5(secret, data).equals(createHmac("md5", secret).update(data).digest()), `${length} bytes`).toBe(true);
    }
  });

  it("hmacMd5 keeps each secret's keys apart (cached per secret)", () => {
    const data = randomBytes(40);
    const a = hmacMd5("secret-a", data);
    const b = hmacMd5("secret-b", data);
    expect(a.equals(b)).toBe(false);
    expect(hmacMd5("secret-a", data).equals(a)).toBe(true);
    expect(a.equals(createHmac("md5", "secret-a").update(data).digest())).toBe(true);
  });

  it("md5 of parts equals one Hash fed the same parts in order", () => {
    for (let i = 0; i < 50; i++) {
      const packet = randomBytes(Math.floor(Math.random() * 200));
      const secret = randomSecret(Math.floor(Math.random() * 40));
      expect(md5(packet, secret).equals(createHash("md5").update(packet).update(secret).digest())).toBe(true);
      expect(md5(secret, packet).equals(createHash("md5").update(secret).update(packet).digest())).toBe(true);
      expect(md5(packet).equals(createHash("md5").update(packet).digest())).toBe(true);
    }
  });

  it("sha256Hex equals createHash('sha256') of the UTF-8 text", () => {
    for (const text of ["", "{}", '{"msisdn":"+46701234567","username":"anna"}', "é€𝄞".repeat(100)]) {
      expect(sha256Hex(text)).toBe(createHash("sha256").update(text).digest("hex"));
    }
  });
});
