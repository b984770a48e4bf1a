#!/usr/bin/env node
// Generates an API key and prints the MFA_CONFIG apiKeys entry that holds only its hash.
// Usage: npm run new-api-key -- <friendly-name> [expires YYYY-MM-DD]
import { createHash, randomUUID } from "node:crypto";

const [name = "api key", expires] = process.argv.slice(2);
if (expires !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(expires)) {
  console.error("expires must be YYYY-MM-DD (the last valid day, UTC)");
  process.exit(2);
}
const key = randomUUID();
const entry = { name, sha256: createHash("sha256").update(key).digest("hex"), ...(expires ? { expires } : {}) };
console.log(`api-key (shown once, give it to the client): ${key}`);
console.log(`add to the endpoint's "apiKeys" in MFA_CONFIG:\n${JSON.stringify(entry, null, 2)}`);
