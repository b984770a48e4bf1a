import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// DO_JURISDICTION only holds if every Durable Object id and stub comes from
// workers/lib/durable-objects.ts: one direct `env.SUBSCRIBER.getByName(…)` would create that
// number's object outside the EU jurisdiction.
const HELPER = "workers/lib/durable-objects.ts";
const BINDINGS =
  /\b(AUTH_SESSION|SUBSCRIBER|LOAD_SHARD|IP_LIMITER|DEV_OUTBOX|RELAY_REPLAY|RELAY_CHALLENGES|RESET_SESSION|RELAY_LINK|ASYNC_AUTH)\b(?!")/;
const NAMESPACE_METHODS = /\.(getByName|idFromName|idFromString|newUniqueId|jurisdiction)\(/;

/** `file:line: text` of each line outside the helper that matches `pattern`. */
function offenders(pattern: RegExp): string[] {
  const files = execFileSync("git", ["ls-files", "workers/*.ts", "workers/*.tsx"], { encoding: "utf8" })
    .split("\n")
    .filter((f) => f && f !== HELPER);
  return files.flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .flatMap((line, i) =>
        pattern.test(line) && !line.trim().startsWith("*") && !line.trim().startsWith("//") ? [`${file}:${i + 1}: ${line.trim()}`] : [],
      ),
  );
}

describe("Durable Objects are reached only through workers/lib/durable-objects.ts", () => {
  it("no namespace method (getByName, idFromName, idFromString, newUniqueId, jurisdiction) is called elsewhere", () => {
    expect(offenders(NAMESPACE_METHODS)).toEqual([]);
  });

  it("no Durable Object binding is read elsewhere (only named as a string to the helper)", () => {
    expect(offenders(BINDINGS)).toEqual([]);
  });

  it("the checks see a direct use (they can fail)", () => {
    expect(NAMESPACE_METHODS.test('env.SUBSCRIBER.getByName("+46700000000")')).toBe(true);
    expect(BINDINGS.test("new OutboxProvider(env.DEV_OUTBOX)")).toBe(true);
    expect(BINDINGS.test('objectStub(env, "SUBSCRIBER", msisdn)')).toBe(false);
  });
});
