import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * `npm run bench` goes on when one benchmark fails, and says why (issue 16, item 4). Run in a
 * child process: a stray rejection is the case that used to kill the run, and inside vitest
 * it would be vitest's to report.
 */
const sections = resolve("bench/lib/sections.ts");

function run(script: string) {
  const dir = mkdtempSync(join(tmpdir(), "bench-sections-"));
  const file = join(dir, "run.ts");
  writeFileSync(file, `import { runSection, summarise } from ${JSON.stringify(sections)};\n${script}`);
  return spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 20_000 });
}

describe("bench sections", () => {
  it("a benchmark that throws is reported with its reason and cause, and the next still runs", () => {
    const r = run(`
      const results = [];
      results.push(await runSection("first", async () => {
        throw new Error("dev server gone", { cause: new Error("ECONNREFUSED 127.0.0.1:8787") });
      }));
      results.push(await runSection("second", async () => { console.log("second ran"); }));
      if (!summarise(results)) process.exitCode = 1;
    `);
    expect(r.stderr).toContain("FAILED first: dev server gone (cause: ECONNREFUSED 127.0.0.1:8787)");
    expect(r.stdout).toContain("second ran");
    expect(r.stdout).toMatch(/FAILED {2}first: dev server gone/);
    expect(r.stdout).toMatch(/ok {6}second/);
    expect(r.status).toBe(1);
  });

  it("a rejection nobody awaited fails the running benchmark instead of killing the run", () => {
    const r = run(`
      const results = [];
      results.push(await runSection("stray", async () => {
        void Promise.reject(new TypeError("terminated"));
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }));
      results.push(await runSection("after", async () => { console.log("after ran"); }));
      if (!summarise(results)) process.exitCode = 1;
    `);
    expect(r.stderr).toContain("FAILED stray: terminated");
    expect(r.stdout).toContain("after ran");
    expect(r.status).toBe(1);
  });

  it("all passing exits 0", () => {
    const r = run(`
      const results = [await runSection("only", async () => {})];
      if (!summarise(results)) process.exitCode = 1;
    `);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ok {6}only/);
  });
});
