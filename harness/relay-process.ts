import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";

/** The checkout this file is in: its relay is the one started. */
const ROOT = resolve(import.meta.dirname, "..");

/**
 * A UDP port on loopback that is free right now (the OS picks it). RADIUS listens on UDP, and a
 * port free for TCP (freePort) may be another process's UDP socket: radclient's source ports
 * come from the same ephemeral range.
 */
export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** An ES256 relay key: the PKCS#8 file for the relay and the public JWK for the edge. */
export async function relayKey(): Promise<{ privateKeyFile: string; publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-relay-key-"));
  const privateKeyFile = join(dir, "relay.pem");
  writeFileSync(privateKeyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  return { privateKeyFile, publicJwk: { kty, crv, x, y } };
}

export interface RelayProcess {
  port: number;
  target: string;
  /** The relay's process id (the bench reads its CPU time). */
  pid: number | undefined;
  /** The config file the relay runs with (rewrite it, then `signal("SIGHUP")`), and what was written there. */
  configFile: string;
  config: Record<string, unknown>;
  signal: (signal: NodeJS.Signals) => void;
  /** Parsed JSON log lines so far. */
  logs: () => Array<Record<string, unknown>>;
  output: () => string;
  waitForLog: (pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export interface StartRelayOptions {
  /**
   * Keep only about the last this many characters of the relay's output (the default keeps
   * all of it, for tests that read its log lines). For the benchmarks: the relay logs a line
   * per login, and a process that kept a whole load's lines (~220 bytes each) did measurable
   * work per login beside the instant edge it also runs.
   */
  keepOutputChars?: number;
  /** Where the listen port comes from (default freeUdpPort); a test gives a taken one. */
  pickPort?: () => Promise<number>;
}

/** How many ports startRelay tries when the one it picked was taken before the relay bound it. */
export const RELAY_PORT_TRIES = 3;

/**
 * Runs the relay's installed bin (relay/bin/edge-mfa-relay.mjs, what `npm run relay` runs)
 * on the project's Node 22 with the given config (listen port filled in). `nodeArgs`: Node's
 * own flags before the script (e.g. `--cpu-prof`, bench/profile-relay.ts).
 *
 * The port was free a moment before the relay binds it; when another test's socket took it
 * meanwhile, the relay exits with EADDRINUSE on that port and is started again on another one
 * (at most RELAY_PORT_TRIES ports). Any other failure is thrown at once.
 */
export async function startRelay(
  config: Record<string, unknown>,
  nodeArgs: string[] = [],
  options: StartRelayOptions = {},
): Promise<RelayProcess> {
  const pickPort = options.pickPort ?? freeUdpPort;
  for (let attempt = 1; ; attempt++) {
    const port = await pickPort();
    try {
      return await startRelayOn(port, config, nodeArgs, options);
    } catch (e) {
      const taken = e instanceof RelayExited && e.output.includes(`EADDRINUSE 127.0.0.1:${port}`);
      if (!taken || attempt >= RELAY_PORT_TRIES) throw e;
    }
  }
}

/** The relay process ended before the log line a caller waited for. */
class RelayExited extends Error {
  readonly exitCode: number | null;
  readonly output: string;
  constructor(exitCode: number | null, output: string) {
    super(`relay exited (${exitCode}):\n${output}`);
    this.exitCode = exitCode;
    this.output = output;
  }
}

async function startRelayOn(
  port: number,
  config: Record<string, unknown>,
  nodeArgs: string[],
  options: StartRelayOptions,
): Promise<RelayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-relay-"));
  const file = join(dir, "relay.json");
  const written = { ...config, listen: { host: "127.0.0.1", port } };
  writeFileSync(file, JSON.stringify(written, null, 2));
  let out = "";
  // This checkout's relay and Node, whatever the caller's directory (as bench/lib/workers.ts).
  const node = join(ROOT, "node_modules", ".bin", "node");
  const child: ChildProcess = spawn(node, [...nodeArgs, "relay/bin/edge-mfa-relay.mjs", "--config", file], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: ROOT,
  });
  const keep = options.keepOutputChars;
  const take = (d: Buffer) => {
    out += d;
    // Trimmed once it is twice the limit, so the copy costs little per line.
    if (keep !== undefined && out.length > 2 * keep) {
      const lineStart = out.indexOf("\n", out.length - keep);
      out = lineStart < 0 ? out.slice(-keep) : out.slice(lineStart + 1);
    }
  };
  const closed = new Promise<void>((r) => child.once("close", () => r()));
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const logs = () =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitForLog = async (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = logs().find(pred);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`log line not seen; output so far:\n${out}`);
      if (child.exitCode !== null) {
        // Its last output may still be in the pipes when "exit" comes: read to their end.
        await closed;
        throw new RelayExited(child.exitCode, out);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitForLog((l) => l.event === "listening");
  return {
    port,
    target: `127.0.0.1:${port}`,
    pid: child.pid,
    configFile: file,
    config: written,
    signal: (signal) => void child.kill(signal),
    logs,
    output: () => out,
    waitForLog,
    stop: async (signal = "SIGTERM") => {
      // A process killed by a signal has no exit code, only a signalCode: it is gone as well.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill(signal);
      return exited;
    },
  };
}
