import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess } from "./processes.ts";

/** A free TCP port on loopback (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface DevServer {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts `npm run dev` (wrangler dev in demo mode) exactly as a user would, with its own
 * state directory, and waits until it answers /healthz.
 */
export async function startDevServer(extraArgs: string[] = []): Promise<DevServer> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "edge-mfa-dev-"));
  const { child, output, stop } = startProcess("npm", ["run", "dev", "--", "--persist-to", state, ...extraArgs], { PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, output, stop };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready in 90 s:\n${output()}`);
}
