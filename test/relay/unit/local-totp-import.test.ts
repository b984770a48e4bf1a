import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseTokenCsv } from "../../../relay/src/local-totp/csv-import.ts";
import { parsePskc } from "../../../relay/src/local-totp/pskc-import.ts";
import { parseXml } from "../../../relay/src/local-totp/xml.ts";

/** Hardware token files: what is read from them, and a clear error naming the place for anything else. */
const fixture = (name: string) => readFileSync(`test/relay/fixtures/tokens/${name}`, "utf8");
const ascii = (s: string) => Uint8Array.from(Buffer.from(s));
const CSV_HEADER = "user,seed_base32,digits,period,algorithm";
const B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"

describe("CSV import", () => {
  it("reads users, seeds (base32 or hex), parameters and serials; defaults for empty fields", () => {
    const tokens = parseTokenCsv(fixture("tokens.csv"));
    expect(tokens.map((t) => [t.username, t.serial, t.params])).toEqual([
      ["dave", "HW-0001", { digits: 6, period: 30, algorithm: "sha1" }],
      ["erin", "HW-0002", { digits: 8, period: 60, algorithm: "sha256" }],
      ["frank", "HW-0003", { digits: 6, period: 30, algorithm: "sha1" }],
    ]);
    expect(tokens[0]?.seed).toEqual(ascii("12345678901234567890"));
    expect(tokens[1]?.seed).toEqual(ascii("12345678901234567890123456789012"));
    const hex = parseTokenCsv(`user,seed_hex\nGina,${Buffer.from("12345678901234567890").toString("hex")}\n`);
    expect(hex[0]).toMatchObject({ username: "gina", seed: ascii("12345678901234567890"), origin: "csv" });
  });

  it.each([
    ["", /no header line/],
    ["user,seed\nalice,x", /line 1: unknown column "seed"/],
    ["user,digits\nalice,6", /exactly one of "seed_base32" or "seed_hex"/],
    ["seed_base32\nAAAA", /needs a "user" column/],
    [`${CSV_HEADER}\n`, /no tokens after the header/],
    [`${CSV_HEADER}\nalice,${B32},6`, /CSV line 2: 3 fields, the header has 5/],
    [`${CSV_HEADER}\n,${B32},6,30,sha1`, /CSV line 2: field "user" is empty/],
    [`${CSV_HEADER}\nalice,${B32}1,6,30,sha1`, /CSV line 2: field "seed_base32" is not base32/],
    [`${CSV_HEADER}\nalice,GEZDGNBV,6,30,sha1`, /CSV line 2: field "seed_base32" is 5 bytes; a seed must be 16-64 bytes/],
    [`${CSV_HEADER}\nalice,${B32},7,30,sha1`, /CSV line 2: field "digits" must be 6 or 8/],
    [`${CSV_HEADER}\nalice,${B32},6,45,sha1`, /CSV line 2: field "period" must be 30 or 60/],
    [`${CSV_HEADER}\nalice,${B32},6,30,md5`, /CSV line 2: field "algorithm" must be sha1, sha256 or sha512/],
    [`${CSV_HEADER}\nalice,${B32},6,30,sha1\n# comment\nALICE,${B32},6,30,sha1`, /CSV line 4: user "alice" already has a token on line 2/],
    ["user,seed_hex\nalice,0g", /CSV line 2: field "seed_hex" is not hex/],
  ])("refuses %j", (text, error) => {
    expect(() => parseTokenCsv(text)).toThrow(error);
  });
});

describe("PSKC import (RFC 6030)", () => {
  it("reads each TOTP key: user, seed, digits, period, suite and serial, with namespace prefixes and CDATA", () => {
    const tokens = parsePskc(fixture("tokens.pskc"));
    expect(tokens.map((t) => [t.username, t.serial, t.params, t.origin])).toEqual([
      ["bob", "987654321", { digits: 8, period: 30, algorithm: "sha1" }, "pskc"],
      ["carol", "123", { digits: 6, period: 60, algorithm: "sha256" }, "pskc"],
    ]);
    expect(tokens[0]?.seed).toEqual(ascii("12345678901234567890"));
    expect(tokens[1]?.seed).toEqual(ascii("12345678901234567890123456789012"));
  });

  it("refuses an encrypted container with a clear message", () => {
    expect(() => parsePskc(fixture("encrypted.pskc"))).toThrow(/encrypted.*only unencrypted PSKC/);
  });

  const pkg = (key: string, device = "<DeviceInfo><SerialNo>42</SerialNo></DeviceInfo>") =>
    `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">\n<KeyPackage>${device}\n${key}</KeyPackage></KeyContainer>`;
  const secret = "<Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret></Data>";
  const totp = 'Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"';
  it.each([
    ["<KeyContainer/>", /root must be <KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc">/],
    ['<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc"></KeyContainer>', /no <KeyPackage>/],
    [
      pkg(`<Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">${secret}<UserId>a</UserId></Key>`),
      /KeyPackage 1 \(line 2, serial 42\): .*only TOTP keys/,
    ],
    [pkg(`<Key ${totp}>${secret}</Key>`), /KeyPackage 1 .*no <UserId>/],
    [pkg(`<Key ${totp}><Data><Secret></Secret></Data><UserId>a</UserId></Key>`), /field "Data\/Secret\/PlainValue" is missing/],
    [pkg(`<Key ${totp}><Data><Secret><PlainValue>***</PlainValue></Secret></Data><UserId>a</UserId></Key>`), /is not base64/],
    [pkg(`<Key ${totp}><Data><Secret><PlainValue>MTIz</PlainValue></Secret></Data><UserId>a</UserId></Key>`), /3 bytes; a seed must be/],
    [pkg(`<Key ${totp}><Data><Secret><EncryptedValue/></Secret></Data><UserId>a</UserId></Key>`), /is encrypted \(<EncryptedValue>\)/],
    [
      pkg(
        `<Key ${totp}><AlgorithmParameters><ResponseFormat Length="6" Encoding="HEXADECIMAL"/></AlgorithmParameters>${secret}<UserId>a</UserId></Key>`,
      ),
      /only DECIMAL/,
    ],
    [
      pkg(`<Key ${totp}><AlgorithmParameters><ResponseFormat Length="10"/></AlgorithmParameters>${secret}<UserId>a</UserId></Key>`),
      /field "digits" must be 6 or 8/,
    ],
    [
      pkg(
        `<Key ${totp}><Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret><Time><PlainValue>5</PlainValue></Time></Data><UserId>a</UserId></Key>`,
      ),
      /T0\) is 5/,
    ],
    [pkg(`<Key ${totp}>${secret}<UserId>a</UserId></Key><Key ${totp}>${secret}<UserId>b</UserId></Key>`), /exactly one <Key>/],
  ])("refuses %#", (text, error) => {
    expect(() => parsePskc(text)).toThrow(error);
  });

  it("refuses the same user twice", () => {
    const one = `<KeyPackage><Key ${totp}>${secret}<UserId>A</UserId></Key></KeyPackage>`;
    expect(() => parsePskc(`<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc">${one}\n${one}</KeyContainer>`)).toThrow(
      /KeyPackage 2 .*user "a" already has a token in PSKC KeyPackage 1/,
    );
  });
});

describe("the XML reader", () => {
  it.each([
    ['<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', /DOCTYPE and entity declarations are not accepted/],
    ['<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', /DOCTYPE/],
    ["<x>&unknown;</x>", /unknown entity/],
    ["<x><y></x>", /end tag <\/x> does not match <y>/],
    ["<x>", /<x> is not closed/],
    ["<x/><y/>", /a second root element/],
    ["<p:x/>", /undeclared namespace prefix "p"/],
    ["<x a=1/>", /malformed attribute/],
    ["hello", /text outside the root element/],
    ["", /no root element/],
    [`${"<a>".repeat(100)}${"</a>".repeat(100)}`, /nested deeper than 64/],
  ])("refuses %j", (text, error) => {
    expect(() => parseXml(text, "PSKC")).toThrow(error);
  });

  it("decodes entities and character references, names lines", () => {
    const x = parseXml('<x a="&quot;1&#x41;&#66;">\n<y>&lt;&amp;&gt;&apos;</y></x>', "PSKC");
    expect(x.attrs.get("a")).toBe('"1AB');
    expect(x.children[0]).toMatchObject({ name: "y", text: "<&>'", line: 2 });
  });
});
