#!/usr/bin/env node
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { existsSync, writeFileSync } from "node:fs";
import { loadRelayConfig, RelayConfigError } from "./config.ts";
import { EdgeClient, loadPrivateKey } from "./edge-client.ts";
import { firstFactorFrom } from "./first-factor/index.ts";
import { createRelayLink } from "./link/index.ts";
import { jsonLogger } from "./log.ts";
import { RelayServer } from "./server.ts";

const USAGE = `edge-mfa-relay: RADIUS relay to the Edge MFA service

  edge-mfa-relay [--config FILE]            run the relay (default config: relay.json)
  edge-mfa-relay keygen --out FILE --name N  make the relay's ES256 key (a new file, mode 0600); prints the edge's "relays" entry
`;

async function main(argv: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(USAGE);
  if (argv[0] === "keygen") return keygen(opt("--out"), opt("--name"));

  const config = loadRelayConfig(opt("--config") ?? "relay.json");
  const log = jsonLogger(config.log.level);
  const key = await loadPrivateKey(config.edge.privateKeyFile);
  const edge = new EdgeClient({ url: config.edge.url, relayName: config.edge.relayName, key, timeoutMs: config.edge.timeoutMs });
  const server = new RelayServer(config, { edge, firstFactor: firstFactorFrom(config.firstFactor), log });
  // The link to the edge (opt-in); handlers of other ops are registered on link.dispatcher before start().
  const link = config.link.enabled ? createRelayLink(config, key, log) : null;
  // Handlers go in before start(): start() logs "listening" before it returns, and a
  // signal sent on that line would otherwise meet the default action (killed, no drain).
  const started = server.start();
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log.log("info", "signal", { signal: sig });
      void started
        .catch(() => undefined)
        .then(() => Promise.all([server.stop(), link?.client.stop()]))
        .then(() => process.exit(0));
    });
  }
  await started;
  if (!stopping) link?.client.start();
}

async function keygen(out: string | undefined, name: string | undefined): Promise<void> {
  if (!out || !name) throw new RelayConfigError("keygen needs --out FILE and --name RELAY_NAME");
  // Never over an existing file: its mode would be kept (writeFileSync sets it only on
  // create, so a 0644 file stayed world-readable), and it may be a live relay's key.
  if (existsSync(out)) throw new RelayConfigError(`keygen: ${out} exists; refusing to overwrite it (remove it first to replace the key)`);
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  writeFileSync(out, await exportPKCS8(privateKey), { mode: 0o600, flag: "wx" });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  process.stdout.write(
    `private key written to ${out} (keep it on the relay host only)\n` +
      `add to the edge's MFA_CONFIG "relays":\n${JSON.stringify({ name, publicJwk: { kty, crv, x, y }, endpoint: "radius" }, null, 2)}\n`,
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof RelayConfigError ? 2 : 1);
});
