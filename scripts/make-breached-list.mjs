#!/usr/bin/env node
// Turns a plain list of passwords (one a line, on stdin) into the breached-password list format
// (core/breached-passwords.ts): upper-case SHA-1 hex, one a line, sorted, without duplicates.
// Used once to make data/breached-passwords.txt from a list of the most common passwords; an
// operator can do the same with a bigger corpus, or use a SHA-1 corpus as it is.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const words = readFileSync(0, "utf8")
  .split(/\r?\n/)
  .filter((w) => w.length > 0);
const digests = [...new Set(words.map((w) => createHash("sha1").update(w, "utf8").digest("hex").toUpperCase()))].sort();
process.stdout.write(
  `# Breached / most common passwords, SHA-1 (upper-case hex), one a line. ${digests.length} entries.\n` +
    "# Made by scripts/make-breached-list.mjs; format: core/breached-passwords.ts.\n" +
    `${digests.join("\n")}\n`,
);
