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
 * state directory, and waits until it answers /healthz. freePort() only finds a port that was
 * free a moment ago: when another test's process took it first, wrangler exits with "Address
 * already in use", and it is started again on another port (at most 3 tries).
 */
export async function startDevServer(extraArgs: string[] = []): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    const started = await startDevServerOnce(extraArgs);
    if (started.kind === "ready") return started.server;
    if (started.kind === "port_taken" && attempt < 3) continue;
    throw new Error(started.error);
  }
}

async function startDevServerOnce(
  extraArgs: string[],
): Promise<{ kind: "ready"; server: DevServer } | { kind: "port_taken" | "failed"; error: string }> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "edge-mfa-dev-"));
  const { child, output, stop } = startProcess("npm", ["run", "dev", "--", "--persist-to", state, ...extraArgs], { PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) {
      const error = `wrangler dev exited early:\n${output()}`;
      return { kind: output().includes("Address already in use") ? "port_taken" : "failed", error };
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { kind: "ready", server: { url, output, stop } };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  return { kind: "failed", error: `wrangler dev did not become ready in 90 s:\n${output()}` };
}
