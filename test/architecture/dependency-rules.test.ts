import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cruise, type ICruiseResult, type IConfiguration } from "dependency-cruiser";
import { describe, expect, it } from "vitest";

// The same rule file `npm run deps` uses, so a weakened rule fails here too.
const config = createRequire(import.meta.url)("../../.dependency-cruiser.cjs") as IConfiguration;

async function violations(files: Record<string, string>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-deps-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const roots = [...new Set(Object.keys(files).map((p) => p.split("/")[0]!))];
  const { output } = await cruise(roots, {
    baseDir: dir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
  });
  return (output as ICruiseResult).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe("dependency rules (.dependency-cruiser.cjs)", () => {
  it("the tree as it is has no violations", async () => {
    const { output } = await cruise(["core", "workers", "relay", "client", "cli", "bench", "harness", "scripts", "test"], {
      validate: true,
      ruleSet: { forbidden: config.forbidden },
      tsPreCompilationDeps: true,
      doNotFollow: { path: "node_modules" },
      exclude: { path: "^workers/generated/" },
      tsConfig: { fileName: "tsconfig.json" },
    });
    expect((output as ICruiseResult).summary.violations).toEqual([]);
  });

  it.each([
    ["core-is-self-contained", { "core/a.ts": 'import "../workers/lib/log.ts";', "workers/lib/log.ts": "" }],
    ["core-has-no-runtime", { "core/a.ts": 'import "node:fs";' }],
    ["contracts-stay-contracts", { "core/contracts/a.ts": 'import "../otp.ts";', "core/otp.ts": "" }],
    ["objects-below-routes", { "workers/objects/a.ts": 'import "../domain/b.ts";', "workers/domain/b.ts": "" }],
    [
      "objects-through-contracts",
      { "workers/domain/a.ts": 'import "../objects/auth-session/state.ts";', "workers/objects/auth-session/state.ts": "" },
    ],
    [
      "objects-through-contracts",
      { "workers/routes/a.ts": 'import "../objects/subscriber/store.ts";', "workers/objects/subscriber/store.ts": "" },
    ],
    [
      "objects-keep-to-themselves",
      { "workers/objects/auth-session/delivery.ts": 'import "../subscriber/store.ts";', "workers/objects/subscriber/store.ts": "" },
    ],
    ["domain-below-routes", { "workers/domain/a.ts": 'import "../routes/b.ts";', "workers/routes/b.ts": "" }],
    ["adapters-and-stores-are-leaves", { "workers/sms/a.ts": 'import "../objects/b.ts";', "workers/objects/b.ts": "" }],
    ["edge-is-not-imported", { "relay/src/a.ts": 'import "../../workers/lib/b.ts";', "workers/lib/b.ts": "" }],
    ["relay-app-cli-stay-apart", { "client/a.ts": 'import "../relay/src/b.ts";', "relay/src/b.ts": "" }],
    ["edge-does-not-import-tools", { "workers/a.ts": 'import "../harness/b.ts";', "harness/b.ts": "" }],
    ["bench-does-not-import-tests", { "bench/a.ts": 'import "../test/support/b.ts";', "test/support/b.ts": "" }],
    ["no-circular", { "core/a.ts": 'import "./b.ts";', "core/b.ts": 'import "./a.ts";' }],
  ])("%s catches a wrong import", async (rule, files) => {
    expect((await violations(files)).some((v) => v.startsWith(`${rule}:`))).toBe(true);
  });

  it("allowed directions pass: the edge and the relay import core, the session imports the subscriber's contract", async () => {
    expect(
      await violations({
        "core/msisdn.ts": 'import "./contracts/relay.ts";',
        "core/contracts/relay.ts": "",
        "relay/src/a.ts": 'import "../../core/msisdn.ts";',
        "workers/routes/a.ts": 'import "../domain/b.ts";',
        "workers/domain/b.ts": 'import "../objects/c.ts"; import "../objects/subscriber/contract.ts";',
        "workers/objects/subscriber/contract.ts": "",
        "workers/objects/auth-session/delivery.ts": 'import "../subscriber/contract.ts"; import "./state.ts";',
        "workers/objects/auth-session/state.ts": "",
        "workers/objects/c.ts": 'import "../../core/msisdn.ts"; import "../sms/d.ts";',
        "workers/sms/d.ts": "",
      }),
    ).toEqual([]);
  });
});
