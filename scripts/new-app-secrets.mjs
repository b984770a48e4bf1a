#!/usr/bin/env node
// Generates the authenticator app's secrets: a VAPID key pair (RFC 8292) for Web Push and
// the AES-256 key that encrypts TOTP seeds at rest. Prints `wrangler secret put` lines.
// Keep them stable: a new VAPID key invalidates every push subscription, a new seed key
// every activated device's offline codes.
import { generateKeyPairSync, randomBytes } from "node:crypto";

const subject = process.argv[2] ?? "mailto:ops@example.com";
const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
const publicKey = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]).toString("base64url");
const lines = {
  VAPID_PUBLIC_KEY: publicKey,
  VAPID_PRIVATE_KEY: jwk.d,
  VAPID_SUBJECT: subject,
  SEED_ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
};
for (const [name, value] of Object.entries(lines)) console.log(`echo '${value}' | npx wrangler secret put ${name}`);
