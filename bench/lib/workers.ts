import { createHash } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../test/support/dev-server.ts";
import { startProcess, waitForHttp } from "../../test/support/processes.ts";

export const BENCH_KEY = "bench-api-key-0123456789";
const WRANGLER = join(process.cwd(), "node_modules/.bin/wrangler");
// node_modules/.bin first: wrangler must run on the project's Node 22, not the system Node.
const quiet = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
  PATH: `${join(process.cwd(), "node_modules/.bin")}:${process.env.PATH}`,
};

export interface RunningWorker {
  url: string;
  pid: number;
  stop: () => Promise<void>;
  output: () => string;
}

/** The real Worker under `wrangler dev`, SMS to `smsUrl`, limits opened up for load. */
export async function startEdge(smsUrl: string, maxPending = 50_000, vars: Record<string, string> = {}): Promise<RunningWorker> {
  const port = await freePort();
  // Local DO/D1 state on tmpfs when available: measure the Worker, not the disk.
  const state = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "edge-mfa-bench-"));
  const migrate = startProcess(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], quiet);
  await new Promise((r) => migrate.child.once("exit", r));
  const config = {
    defaultEndpoint: "bench",
    rateLimit: { perMinute: 1000, perHour: 100_000 },
    overload: { maxPending, shards: 32 },
    endpoints: [{ name: "bench", timeoutSeconds: 300, apiKeys: [{ name: "bench", sha256: createHash("sha256").update(BENCH_KEY).digest("hex") }] }],
  };
  const p = startProcess(
    WRANGLER,
    [
      "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--show-interactive-dev-session=false", "--log-level", "warn",
      "--var", `MFA_CONFIG:${JSON.stringify(config)}`,
      "--var", "SMS_PROVIDER:http",
      "--var", `SMS_HTTP_URL:${smsUrl}/sms`,
      "--var", 'SMS_HTTP_BODY:{"to":"{phone}","message":"{text}"}',
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    quiet,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`);
  return { url, pid: p.child.pid!, stop: p.stop, output: p.output };
}

/** The floor: a minimal hono Worker under the same wrangler dev. */
export async function startFloor(): Promise<RunningWorker> {
  const port = await freePort();
  const p = startProcess(WRANGLER, ["dev", "-c", "bench/floor/wrangler.toml", "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false", "--log-level", "warn"], quiet);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/api/sfwa/auth`);
  return { url, pid: p.child.pid!, stop: p.stop, output: p.output };
}
