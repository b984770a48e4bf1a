#!/usr/bin/env node
// Runs the TypeScript relay directly: Node >= 22.18 strips types natively (no build step).
import "../src/cli.ts";
