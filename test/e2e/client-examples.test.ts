import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_API_KEY } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { answerLink, devOutboxLink } from "../support/magic-link-user.ts";

/**
 * The README's client examples (examples/), each run as an integrator would run it against
 * `npm run dev`, with a phone user answering from the dev outbox. An example whose interpreter
 * this machine lacks (PowerShell, PHP) is skipped, and says so.
 */
const EXAMPLES = [
  { name: "curl", file: "examples/curl.sh", command: ["sh"], needs: "curl" },
  { name: "Python", file: "examples/magic_link.py", command: ["python3"], needs: "python3" },
  { name: "Node.js", file: "examples/magic-link.mjs", command: [process.execPath], needs: null },
  { name: "PowerShell", file: "examples/magic-link.ps1", command: ["pwsh", "-NoProfile", "-File"], needs: "pwsh" },
  { name: "PHP", file: "examples/magic-link.php", command: ["php"], needs: "php" },
] as const;

const installed = (tool: string | null) => tool === null || spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

let dev: DevServer;
beforeAll(async () => {
  dev = await startDevServer();
});
afterAll(async () => {
  await dev?.stop();
});

let counter = 0;
const freshNumber = () => `+4673${String(Date.now() % 1e5).padStart(5, "0")}${String(counter++).padStart(2, "0")}`;

function runExample(example: (typeof EXAMPLES)[number], msisdn: string, apiKey: string) {
  const [program, ...args] = example.command;
  const child = spawn(program, [...args, example.file], {
    env: { ...process.env, MFA_URL: dev.url, MFA_API_KEY: apiKey, MSISDN: msisdn },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (status) => resolve({ status, stdout: stdout.trim(), stderr })),
  );
}

describe("client examples", () => {
  const readme = readFileSync("README.md", "utf8");

  for (const example of EXAMPLES) {
    it(`the README shows ${example.file} as it is`, () => {
      expect(readme).toContain(readFileSync(example.file, "utf8").trim());
    });

    it.skipIf(!installed(example.needs))(`${example.name}: accepted on the phone -> TOUCH_ACCEPTED, exit 0`, async () => {
      const msisdn = freshNumber();
      const run = runExample(example, msisdn, DEMO_API_KEY);
      expect(await answerLink(await devOutboxLink(dev.url, msisdn), "accept")).toBe(200);
      const result = await run;
      expect(result, result.stderr).toMatchObject({ status: 0, stdout: "TOUCH_ACCEPTED" });
    });

    it.skipIf(!installed(example.needs))(
      `${example.name}: rejected -> TOUCH_REJECTED; a wrong key -> BAD_REQUEST; both exit 1`,
      async () => {
        const msisdn = freshNumber();
        const run = runExample(example, msisdn, DEMO_API_KEY);
        await answerLink(await devOutboxLink(dev.url, msisdn), "reject");
        expect(await run).toMatchObject({ status: 1, stdout: "TOUCH_REJECTED" });
        expect(await runExample(example, freshNumber(), "not-the-key")).toMatchObject({ status: 1, stdout: "BAD_REQUEST" });
      },
    );
  }
});
