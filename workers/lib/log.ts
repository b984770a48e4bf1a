import { redact } from "../../core/redact";

/**
 * The Worker's only log writer: one JSON line per event, redacted as a whole after
 * serialisation, so no field (error messages and stacks included) can carry a live token.
 */
type Level = "log" | "warn" | "error";
const MAX_LINE = 8_000;

export function logEvent(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  let line = redact(JSON.stringify({ event, ...fields }));
  if (line.length > MAX_LINE) line = JSON.stringify({ event, truncated: line.length, head: line.slice(0, MAX_LINE) });
  console[level](line);
}

export const log = {
  info: (event: string, fields?: Record<string, unknown>) => logEvent("log", event, fields),
  warn: (event: string, fields?: Record<string, unknown>) => logEvent("warn", event, fields),
  error: (event: string, fields?: Record<string, unknown>) => logEvent("error", event, fields),
};
