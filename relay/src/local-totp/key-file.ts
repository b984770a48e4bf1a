import { randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { base64url, fromBase64url } from "../../../core/base64url.ts";
import { TokenInputError } from "./token-record.ts";

/**
 * The key the local token store's seeds are sealed under (AES-256-GCM): 32 random bytes,
 * base64url, in a file only the relay's user may read. Whoever has the database and this
 * file has every seed, so it lives apart from backups of the database.
 */
const KEY_BYTES = 32;

/** Creates the key file; never over an existing one (that would orphan every sealed seed). */
export function createKeyFile(path: string): void {
  try {
    writeFileSync(path, `${base64url(randomBytes(KEY_BYTES))}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new TokenInputError(`${path} exists; refusing to overwrite it (the seeds sealed under it would be lost)`);
    }
    throw new TokenInputError(`cannot create key file ${path}: ${(e as Error).message}`);
  }
}

/** The key, as core/seed-crypto.ts takes it (base64url). Refuses a file others may read. */
export function readKeyFile(path: string): string {
  let text: string;
  try {
    if ((statSync(path).mode & 0o077) !== 0) {
      throw new TokenInputError(`key file ${path} is readable by group or others; chmod 600 it`);
    }
    text = readFileSync(path, "utf8").trim();
  } catch (e) {
    if (e instanceof TokenInputError) throw e;
    throw new TokenInputError(`cannot read key file ${path}: ${(e as Error).message} (create one with: tokens keygen)`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(text) || fromBase64url(text).length !== KEY_BYTES) {
    throw new TokenInputError(`key file ${path} does not hold a ${KEY_BYTES}-byte base64url key`);
  }
  return text;
}
