import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLogger, stdoutLines } from "../../../relay/src/log.ts";

/** The relay's stdout log writer: one write per event-loop round, in order, nothing lost at exit. */
describe("stdoutLines", () => {
  it("writes the lines of one round in one write, in order, after the round", async () => {
    const writes: string[] = [];
    const log = jsonLogger(
      "info",
      stdoutLines(1, (t) => writes.push(t)),
    );
    for (let i = 0; i < 3; i++) log.log("info", "auth", { i });
    log.log("debug", "hidden", {});
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    const lines = (writes[0] ?? "")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
    log.log("info", "auth", { i: 3 });
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(2);
  });

  it("writes lines still pending when the process exits", () => {
    const log = join(process.cwd(), "relay/src/log.ts");
    const script = `import { jsonLogger } from ${JSON.stringify(log)}; const l = jsonLogger("info"); for (let i = 0; i < 500; i++) l.log("info", "auth", { i }); process.exit(0);`;
    const node = join(process.cwd(), "node_modules", ".bin", "node");
    const r = spawnSync(node, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).toEqual([...Array(500).keys()]);
  });
});
