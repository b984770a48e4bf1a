import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Issue 17 item 6: the relay's private key file is only ever created new, mode 0600. */
const node = join(process.cwd(), "node_modules", ".bin", "node");
const keygen = (out: string) => spawnSync(node, ["relay/src/cli.ts", "keygen", "--out", out, "--name", "r1"], { encoding: "utf8" });

describe("relay keygen", () => {
  it("writes a new key file readable by its owner only", () => {
    const out = join(mkdtempSync(join(tmpdir(), "relay-keygen-")), "relay.pem");
    const r = keygen(out);
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, "utf8")).toContain("BEGIN PRIVATE KEY");
  });

  it("refuses to overwrite an existing file (which would keep its old, wider mode)", () => {
    const out = join(mkdtempSync(join(tmpdir(), "relay-keygen-")), "relay.pem");
    writeFileSync(out, "old key", { mode: 0o644 });
    const r = keygen(out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("refusing to overwrite");
    expect(readFileSync(out, "utf8")).toBe("old key");
  });
});

describe("relay keygen-encryption", () => {
  const keygenEncryption = (out: string) => spawnSync(node, ["relay/src/cli.ts", "keygen-encryption", "--out", out], { encoding: "utf8" });

  it("writes a new P-256 key file readable by its owner only and prints the edge's encryptionJwk", () => {
    const out = join(mkdtempSync(join(tmpdir(), "relay-keygen-")), "reset.pem");
    const r = keygenEncryption(out);
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, "utf8")).toContain("BEGIN PRIVATE KEY");
    const printed = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { encryptionJwk: Record<string, string> };
    expect(printed.encryptionJwk).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(Object.keys(printed.encryptionJwk).sort()).toEqual(["crv", "kty", "x", "y"]); // never "d"
  });

  it("refuses to overwrite an existing file", () => {
    const out = join(mkdtempSync(join(tmpdir(), "relay-keygen-")), "reset.pem");
    writeFileSync(out, "old key", { mode: 0o644 });
    const r = keygenEncryption(out);
    expect(r.status).toBe(2);
    expect(readFileSync(out, "utf8")).toBe("old key");
  });
});
