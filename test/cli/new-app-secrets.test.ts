import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** Issue 17 item 6: `npm run new-app-secrets` never prints a secret (shell history, logs). */
const script = resolve("scripts/new-app-secrets.mjs");
const run = (args: string[], env: Record<string, string> = {}, cwd = mkdtempSync(join(tmpdir(), "app-secrets-"))) => ({
  cwd,
  ...spawnSync(process.execPath, [script, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } }),
});
const NAMES = ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT", "SEED_ENCRYPTION_KEY"];

describe("new-app-secrets", () => {
  it("writes the secrets to a new 0600 file for wrangler secret bulk and prints only where they went", () => {
    const r = run(["mailto:ops@example.com"]);
    expect(r.status).toBe(0);
    const file = join(r.cwd, "app-secrets.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
    expect(Object.keys(secrets)).toEqual(NAMES);
    expect(secrets.VAPID_PUBLIC_KEY).toMatch(/^[A-Za-z0-9_-]{87}$/);
    for (const name of ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "SEED_ENCRYPTION_KEY"])
      expect(r.stdout + r.stderr).not.toContain(secrets[name]);
    expect(r.stdout).toContain("wrangler secret bulk app-secrets.json");
  });

  it("refuses to overwrite an existing file", () => {
    const cwd = mkdtempSync(join(tmpdir(), "app-secrets-"));
    writeFileSync(join(cwd, "keep.json"), "older secrets");
    const r = run(["--out", "keep.json"], {}, cwd);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("refusing to overwrite");
    expect(readFileSync(join(cwd, "keep.json"), "utf8")).toBe("older secrets");
  });

  it("--put pipes each value to wrangler secret put on stdin, never in arguments or output", () => {
    // A stand-in `npx` first on PATH records what wrangler would have been given.
    const bin = mkdtempSync(join(tmpdir(), "fake-npx-"));
    const log = join(bin, "calls.jsonl");
    writeFileSync(
      join(bin, "npx"),
      `#!${process.execPath}\nconst fs = require("node:fs");\nfs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args: process.argv.slice(2), stdin: fs.readFileSync(0, "utf8") }) + "\\n");\n`,
    );
    chmodSync(join(bin, "npx"), 0o755);
    const r = run(["--put"], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.status).toBe(0);
    const calls = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { args: string[]; stdin: string });
    expect(calls.map((c) => c.args)).toEqual(NAMES.map((n) => ["wrangler", "secret", "put", n]));
    for (const c of calls) {
      expect(c.stdin.length).toBeGreaterThan(10);
      expect(r.stdout).not.toContain(c.stdin);
    }
  });
});
