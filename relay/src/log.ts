import { redact } from "../../core/redact.ts";

/**
 * Structured JSON log lines on stdout (journald/syslog friendly). Callers pass only
 * non-secret fields: never passwords, codes, shared secrets or State values. The line is
 * redacted as a whole anyway (core/redact.ts, the rules the edge's logs use), because some
 * fields carry text others wrote: a directory's error, an edge refusal, a User-Name.
 */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: Level, event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(min: Level = "info", write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Logger {
  return {
    log(level, event, fields = {}) {
      if (ORDER[level] < ORDER[min]) return;
      write(redact(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })));
    },
  };
}
