import { spawnSync } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** `edge-mfa-relay tokens …` as installed (relay/bin), on the project's Node 22. */
const node = join(process.cwd(), "node_modules", ".bin", "node");
const run = (args: string[]) => spawnSync(node, ["relay/bin/edge-mfa-relay.mjs", "tokens", ...args], { encoding: "utf8" });

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), "local-totp-cli-"));
  const key = join(dir, "tokens.key");
  const db = join(dir, "tokens.db");
  const store = ["--db", db, "--key", key];
  return { dir, key, db, store };
}

describe("relay tokens CLI", () => {
  it("keygen creates the key file mode 0600, once; no SQLite warning reaches the terminal", () => {
    const w = workspace();
    const r = run(["keygen", "--key", w.key]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("back it up");
    expect(r.stderr).toBe("");
    expect(statSync(w.key).mode & 0o777).toBe(0o600);
    const again = run(["keygen", "--key", w.key]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("refusing to overwrite");
  });

  it("enrol prints the otpauth URI, a QR code and the seed once; list never shows the seed", () => {
    const w = workspace();
    run(["keygen", "--key", w.key]);
    const r = run(["enrol", "Alice", "--digits", "8", "--algorithm", "sha256", ...w.store]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const secret = r.stdout.match(/^secret: ([A-Z2-7]+)$/m)?.[1];
    expect(secret).toMatch(/^[A-Z2-7]{52}$/); // 32 bytes for SHA-256
    expect(r.stdout).toMatch(new RegExp(`^uri: +otpauth://totp/Edge%20MFA:alice\\?secret=${secret}&.*algorithm=SHA256.*digits=8`, "m"));
    expect(r.stdout).toMatch(/[█▀▄]{20,}/); // the QR code, in block characters
    expect(statSync(w.db).mode & 0o777).toBe(0o600);

    const list = run(["list", ...w.store]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^alice\tsha256, 8 digits, 30 s\tenrolled\t-\t/m);
    expect(list.stdout).not.toContain(secret ?? "none");

    const twice = run(["enrol", "alice", ...w.store]);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toContain('user "alice" already has a token; remove it first');
    expect(run(["remove", "ALICE", ...w.store]).stdout).toContain('token of "alice" removed');
    expect(run(["list", ...w.store]).stdout).toBe("no tokens\n");
    const gone = run(["remove", "alice", ...w.store]);
    expect(gone.status).toBe(2);
    expect(gone.stderr).toContain('user "alice" has no token');
  });

  it("imports CSV and PSKC, all or nothing; bad files name the line and field, exit 2", () => {
    const w = workspace();
    run(["keygen", "--key", w.key]);
    expect(run(["import", "test/relay/fixtures/tokens/tokens.csv", ...w.store])).toMatchObject({ status: 0 });
    const pskc = run(["import", "test/relay/fixtures/tokens/tokens.pskc", ...w.store]);
    expect(pskc.status).toBe(0);
    expect(pskc.stdout).toContain("imported 2 token(s): bob (sha1, 8 digits, 30 s), carol (sha256, 6 digits, 60 s)");
    expect(
      run(["list", ...w.store])
        .stdout.match(/^\w+\t/gm)
        ?.join(""),
    ).toBe("user\tbob\tcarol\tdave\terin\tfrank\t");

    const bad = join(w.dir, "bad.csv");
    writeFileSync(bad, "user,seed_base32\ngina,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nhank,not-base32!\n");
    const r = run(["import", bad, ...w.store]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('CSV line 3: field "seed_base32" is not base32');
    // Nothing of the bad file was stored, not even its good first line.
    expect(run(["list", ...w.store]).stdout).not.toContain("gina");

    const dup = join(w.dir, "dup.csv");
    writeFileSync(dup, "user,seed_base32\nDave,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n");
    expect(run(["import", dup, ...w.store]).stderr).toContain('user "dave" already has a token');

    const enc = run(["import", "test/relay/fixtures/tokens/encrypted.pskc", ...w.store]);
    expect(enc.status).toBe(2);
    expect(enc.stderr).toContain("only unencrypted PSKC");
  });

  it("usage errors and a missing key file exit 2 with a clear message", () => {
    const w = workspace();
    const cases: Array<[string[], RegExp]> = [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["enrol", ...w.store], /missing USER/],
      [["enrol", "alice", "--digits", "7", ...w.store], /field "digits" must be 6 or 8/],
      [["enrol", "alice", "--colour", "red", ...w.store], /unknown option --colour/],
      [["list", ...w.store], /cannot read key file .*tokens keygen/],
      [["list", "--config", join(w.dir, "none.json")], /cannot read config/],
    ];
    for (const [args, error] of cases) {
      const r = run(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(error);
    }
  });

  it("takes the store from the relay config's localTokens", () => {
    const w = workspace();
    const config = join(w.dir, "relay.json");
    writeFileSync(
      config,
      JSON.stringify({
        clients: [{ name: "c", address: "127.0.0.1", secret: "s" }],
        edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/dev/null" },
        firstFactor: { type: "none" },
        totpSource: "local",
        localTokens: { dbFile: w.db, keyFile: w.key },
      }),
    );
    expect(run(["keygen", "--config", config]).status).toBe(0);
    expect(run(["enrol", "zoe", "--config", config]).status).toBe(0);
    expect(run(["list", "--config", config]).stdout).toContain("zoe\t");
  });
});
