import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The docs are a newcomer's map: a test file or a path they name that is not in the tree (or
// the other way round) sends a reader the wrong way.
const tracked = (...patterns: string[]) =>
  execFileSync("git", ["ls-files", ...patterns], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);

describe("docs match the tree", () => {
  it("docs/testing.md has a row for every test file", () => {
    const doc = readFileSync("docs/testing.md", "utf8");
    const missing = tracked("test/**/*.test.ts", "test/**/*.test.tsx").filter((f) => !doc.includes(`\`${f}\``));
    expect(missing).toEqual([]);
  });

  it("every repository path the README and docs/architecture.md name exists", () => {
    const named = ["README.md", "docs/architecture.md"].flatMap((doc) =>
      [
        ...readFileSync(doc, "utf8").matchAll(
          /`((?:core|workers|client|relay|cli|harness|bench|test|scripts)\/[\w./-]*\.(?:ts|tsx|mjs|cjs|sh))`/g,
        ),
      ].map((m) => m[1] as string),
    );
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((p) => !existsSync(p))).toEqual([]);
  });
});
