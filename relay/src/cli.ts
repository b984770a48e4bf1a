#!/usr/bin/env node
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { existsSync, writeFileSync } from "node:fs";
import { EdgeChallengeStore } from "./challenge-store.ts";
import { AdminServer } from "./admin-server.ts";
import { loadRelayConfig, RelayConfigError } from "./config.ts";
import { EdgeClient, loadPrivateKey } from "./edge-client.ts";
import { EdgeHealth, httpEdgeProbe } from "./edge-health.ts";
import { firstFactorFrom } from "./first-factor/index.ts";
import { readKeyFile } from "./local-totp/key-file.ts";
import { TokenInputError } from "./local-totp/token-record.ts";
import { TokenStore } from "./local-totp/token-store.ts";
import { TOKENS_USAGE, tokensCommand } from "./local-totp/tokens-cli.ts";
import { LocalTotpVerifier } from "./local-totp/verifier.ts";
import { createRelayLink } from "./link/index.ts";
import { passwordResetHandlers } from "./directory/index.ts";
import { jsonLogger } from "./log.ts";
import { RelayMetrics } from "./metrics.ts";
import { RelayServer } from "./server.ts";
import { clusterMetrics, serveAsWorker, WorkerPool, workerNumber } from "./cluster.ts";
import type { RelayConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import { newEncryptionKey } from "./directory/encryption-key.ts";

const USAGE = `edge-mfa-relay: RADIUS relay to the Edge MFA service

  edge-mfa-relay [--config FILE]            run the relay (default config: relay.json)
  edge-mfa-relay keygen --out FILE --name N  make the relay's ES256 key (a new file, mode 0600); prints the edge's "relays" entry
  edge-mfa-relay keygen-encryption --out FILE
                                            make the password-reset encryption key (P-256 ECDH, a new file, mode 0600);
                                            prints the "encryptionJwk" for the edge's "relays" entries of this site
${TOKENS_USAGE}`;

async function main(argv: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(USAGE);
  if (argv[0] === "keygen") return keygen(opt("--out"), opt("--name"));
  if (argv[0] === "keygen-encryption") return keygenEncryption(opt("--out"));
  if (argv[0] === "tokens") return tokensCommand(argv.slice(1), (text) => process.stdout.write(text));

  const configFile = opt("--config") ?? "relay.json";
  const config = loadRelayConfig(configFile);
  const worker = workerNumber();
  const log = jsonLogger(config.log.level, undefined, worker !== undefined ? { worker } : {});
  if (worker !== undefined) return runWorker(config, configFile, log);
  const { key, metrics, edge } = await edgeWithMetrics(config);
  // Opened at start-up: a missing key file or a database it cannot open stops the relay here.
  const tokens = config.localTokens ? new TokenStore(config.localTokens.dbFile, readKeyFile(config.localTokens.keyFile)) : undefined;
  // Challenges live at the edge, so the other relay of the site can answer them (issue 12).
  const challenges = new EdgeChallengeStore(edge, config.challengeTtlSeconds);
  // Several processes: the workers serve UDP authentication, this one the rest (cluster.ts).
  const pool = config.processes > 1 ? new WorkerPool(config.processes, log) : undefined;
  const server = new RelayServer(config, {
    edge,
    challenges,
    firstFactor: firstFactorFrom(config.firstFactor),
    log,
    metrics,
    ...(tokens ? { localTotp: new LocalTotpVerifier(tokens) } : {}),
    ...(pool ? { role: "primary" as const } : {}),
  });
  const admin = config.admin
    ? new AdminServer(config.admin, {
        metrics: pool ? clusterMetrics(metrics, pool) : metrics,
        health: new EdgeHealth(
          httpEdgeProbe(config.edge.url, Math.min(config.edge.timeoutMs, 3000)),
          config.admin.healthCacheSeconds * 1000,
        ),
        listening: () => server.listening && (pool === undefined || pool.ready > 0),
        log,
      })
    : undefined;
  // The link to the edge (opt-in): directory lookups, and the password reset's change when configured.
  const link = config.link.enabled ? createRelayLink(config, key, log) : null;
  if (link && config.passwordReset) {
    // Loaded here: a bad key or list file stops the start, not a user's reset.
    const reset = await passwordResetHandlers(config.passwordReset, config.users, log);
    link.dispatcher.register("user.lookup", reset["user.lookup"]);
    link.dispatcher.register("password.change", reset["password.change"]);
  }
  // Handlers go in before start(): start() logs "listening" before it returns, and a
  // signal sent on that line would otherwise meet the default action (killed, no drain).
  const started = server
    .start()
    .then(async (bound) => {
      if (!pool) return;
      await pool.start();
      log.log("info", "listening", { address: bound.address, port: bound.port, processes: config.processes, failMode: config.failMode });
    })
    .then(() => admin?.start());
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log.log("info", "signal", { signal: sig });
      void started
        .catch(() => undefined)
        // /healthz answers 503 while in-flight logins drain, then the admin port closes.
        .then(() => Promise.all([pool?.stop(), server.stop(), link?.client.stop()]))
        .then(() => admin?.stop())
        .then(() => tokens?.close())
        .then(() => process.exit(0));
    });
  }
  // SIGHUP (systemctl reload): clients, users and second-factor settings from the file again.
  process.on("SIGHUP", () => {
    log.log("info", "signal", { signal: "SIGHUP" });
    if (stopping) return;
    server.reload(() => loadRelayConfig(configFile));
    pool?.reload();
  });
  await started;
  if (!stopping) link?.client.start();
}

/** The relay's signing key, its metrics, and the edge client that reports each call to them. */
async function edgeWithMetrics(
  config: RelayConfig,
): Promise<{ key: Awaited<ReturnType<typeof loadPrivateKey>>; metrics: RelayMetrics; edge: EdgeClient }> {
  const key = await loadPrivateKey(config.edge.privateKeyFile);
  const metrics = new RelayMetrics({ touchTimeoutSeconds: config.touchTimeoutSeconds });
  const edge = new EdgeClient({
    url: config.edge.url,
    relayName: config.edge.relayName,
    key,
    timeoutMs: config.edge.timeoutMs,
    touchBatchMax: config.edge.touchBatchMax,
    observe: (call, seconds, outcome) => metrics.edgeCall(call, seconds, outcome),
    observeLoginsPerCall: (logins) => metrics.touchLoginsPerCall(logins),
  });
  return { key, metrics, edge };
}

/**
 * One of several processes (`processes` > 1, cluster.ts): serves RADIUS authentication on the
 * shared UDP port and nothing else; the primary keeps the admin port, accounting, RadSec and
 * the relay link. Local TOTP is refused with processes > 1 (config.ts), so none here.
 */
async function runWorker(config: RelayConfig, configFile: string, log: Logger): Promise<void> {
  const { metrics, edge } = await edgeWithMetrics(config);
  const server = new RelayServer(config, {
    edge,
    challenges: new EdgeChallengeStore(edge, config.challengeTtlSeconds),
    firstFactor: firstFactorFrom(config.firstFactor),
    log,
    metrics,
    role: "worker",
  });
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      void server
        .stop()
        .catch(() => undefined)
        .then(() => process.exit(0));
    });
  }
  process.on("SIGHUP", () => {
    if (!stopping) server.reload(() => loadRelayConfig(configFile));
  });
  await server.start();
  serveAsWorker(metrics);
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

async function keygenEncryption(out: string | undefined): Promise<void> {
  if (!out) throw new RelayConfigError("keygen-encryption needs --out FILE");
  if (existsSync(out))
    throw new RelayConfigError(`keygen-encryption: ${out} exists; refusing to overwrite it (remove it first to replace the key)`);
  const { pem, publicJwk } = await newEncryptionKey();
  writeFileSync(out, pem, { mode: 0o600, flag: "wx" });
  process.stdout.write(
    `private key written to ${out} (copy it to every relay of this site, as passwordReset.encryptionKeyFile)\n` +
      `add to each of the site's entries in the edge's MFA_CONFIG "relays":\n${JSON.stringify({ encryptionJwk: publicJwk }, null, 2)}\n`,
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof RelayConfigError || e instanceof TokenInputError ? 2 : 1);
});
