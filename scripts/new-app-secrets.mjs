#!/usr/bin/env node
// Generates the authenticator app's secrets: a VAPID key pair (RFC 8292) for Web Push and
// the AES-256 key that encrypts TOTP seeds at rest. Keep them stable: a new VAPID key
// invalidates every push subscription, a new seed key every activated device's offline codes.
//
// The values never go to the terminal (shell history, scrollback, CI logs):
//   npm run new-app-secrets -- [SUBJECT] [--out FILE]   a new file, mode 0600, JSON for
//                                                       `wrangler secret bulk FILE` (default app-secrets.json)
//   npm run new-app-secrets -- [SUBJECT] --put          straight into `wrangler secret put NAME` (value on stdin)
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args.splice(i, 2)[1] ?? fail(`${name} needs a value`)) : undefined;
};
function fail(message) {
  process.stderr.write(`new-app-secrets: ${message}\n`);
  process.exit(2);
}

const put = args.includes("--put");
if (put) args.splice(args.indexOf("--put"), 1);
const out = flag("--out");
if (put && out) fail("use either --out FILE or --put");
const subject = args[0] ?? "mailto:ops@example.com";
if (args.length > 1 || !/^(mailto:|https:\/\/)\S+$/.test(subject))
  fail("usage: new-app-secrets [mailto:you@example.com] [--out FILE | --put]");

const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
const publicKey = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]).toString("base64url");
const secrets = {
  VAPID_PUBLIC_KEY: publicKey,
  VAPID_PRIVATE_KEY: jwk.d,
  VAPID_SUBJECT: subject,
  SEED_ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
};

if (put) {
  for (const [name, value] of Object.entries(secrets)) {
    // The value goes through a pipe, never through argv or a shell.
    const r = spawnSync("npx", ["wrangler", "secret", "put", name], { input: value, stdio: ["pipe", "inherit", "inherit"] });
    if (r.status !== 0) fail(`wrangler secret put ${name} failed (exit ${r.status}); nothing after it was stored`);
    console.log(`${name}: stored with wrangler secret put`);
  }
} else {
  const file = out ?? "app-secrets.json";
  try {
    // "wx": a new file only (never over an older key set), readable by its owner only.
    writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    fail(e.code === "EEXIST" ? `${file} exists; refusing to overwrite it` : e.message);
  }
  console.log(`wrote ${Object.keys(secrets).join(", ")} to ${file} (mode 0600)`);
  console.log(`upload them with: npx wrangler secret bulk ${file}   then delete the file`);
}
