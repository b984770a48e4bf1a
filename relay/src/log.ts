import { writeSync } from "node:fs";
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

/** `context`: fields on every line (a worker's number when several processes serve, cluster.ts). */
export function jsonLogger(
  min: Level = "info",
  write: (line: string) => void = stdoutLines(),
  context: Record<string, unknown> = {},
): Logger {
  return {
    log(level, event, fields = {}) {
      if (ORDER[level] < ORDER[min]) return;
      write(redact(JSON.stringify({ time: new Date().toISOString(), level, event, ...context, ...fields })));
    },
  };
}

/**
 * Writes lines to stdout in batches: the lines logged while the event loop handles one round
 * of packets go out in one write, after it (setImmediate). stdout to a pipe (journald, a
 * supervisor) is a synchronous write per call on Linux, and one per auth line was the relay's
 * largest cost per login after signing. Lines still pending when the process exits are written
 * synchronously then, so an exit (process.exit after a shutdown, a fatal error) loses none.
 */
export function stdoutLines(fd = 1, out: (text: string) => void = (t) => process.stdout.write(t)): (line: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = `${pending.join("\n")}\n`;
    pending = [];
    out(text);
  };
  process.once("exit", () => {
    if (pending.length > 0) writeSync(fd, `${pending.join("\n")}\n`);
    pending = [];
  });
  return (line) => {
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
