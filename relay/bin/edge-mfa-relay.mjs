#!/usr/bin/env node
// Runs the TypeScript relay directly: Node >= 22.18 strips types natively (no build step).
// node:sqlite (the local TOTP token store) is stable in use but still flagged experimental in
// Node 22; its one start-up warning is dropped so it does not reach operators' terminals and
// logs. The filter must be in place before the relay's modules load, hence the dynamic import.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === "string" ? rest[0] : rest[0]?.type;
  if (type === "ExperimentalWarning" && String(warning).startsWith("SQLite is an experimental feature")) return;
  emitWarning(warning, ...rest);
};
await import("../src/cli.ts");
