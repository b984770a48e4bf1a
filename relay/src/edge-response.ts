import type { z } from "zod";
import { TOUCH_BATCH, TOUCH_BATCH_MAX_LOGINS, type TouchBatchLine } from "../../core/contracts/relay-api.ts";
import { EDGE_UNAVAILABLE_ERROR, EDGE_UNAVAILABLE_STATUS, RESULT_CODES, type ResultCode } from "../../core/contracts/relay.ts";

/**
 * How the relay reads one answer of the edge's relay API. Pure, so every case is unit-tested.
 * Only "unavailable" lets the fail mode apply: it means the edge could not be asked (transport
 * failure, see EdgeClient) or said so explicitly (503 + {"error":"edge_unavailable"}). Every
 * other non-2xx (a misconfigured edge, a missing endpoint, a validation error, a crashed
 * check) and every 2xx whose body is not what the API promises is a refusal: never fail open.
 */
export type EdgeAnswer<T> =
  | { kind: "ok"; value: T }
  | { kind: "unavailable"; reason: string }
  /** `error`: the edge's machine-readable reason, when it gave one (e.g. "number_changed"). */
  | { kind: "refused"; reason: string; error?: string };

/**
 * `quick`: an exact check for the common answer of a call, tried before the schema; it
 * returns the value only when the schema would accept the body and give that same value,
 * else undefined and the schema decides (so it can only spare work, never accept more).
 */
export function classifyEdgeResponse<T>(
  status: number,
  text: string,
  schema: z.ZodType<T>,
  quick?: (json: unknown) => T | undefined,
): EdgeAnswer<T> {
  let json: unknown;
  let isJson = true;
  try {
    json = JSON.parse(text);
  } catch {
    isJson = false;
  }
  const error =
    isJson && typeof json === "object" && json !== null && typeof (json as { error?: unknown }).error === "string"
      ? (json as { error: string }).error
      : undefined;
  if (status === EDGE_UNAVAILABLE_STATUS && error === EDGE_UNAVAILABLE_ERROR)
    return { kind: "unavailable", reason: "edge reports itself unavailable" };
  if (status < 200 || status >= 300) {
    return { kind: "refused", reason: `edge answered ${status}: ${text.slice(0, 200)}`, ...(error ? { error } : {}) };
  }
  if (!isJson) return { kind: "refused", reason: `edge sent non-JSON: ${text.slice(0, 200)}` };
  const fast = quick?.(json);
  if (fast !== undefined) return { kind: "ok", value: fast };
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { kind: "refused", reason: `edge answer not as specified: ${text.slice(0, 200)}` };
  return { kind: "ok", value: parsed.data };
}

const RESULT_CODE_SET: ReadonlySet<string> = new Set(RESULT_CODES);

/**
 * The Touch answer `{"code": <result code>}` (RELAY_CALLS.touch.answer), checked by hand:
 * the answer of nearly every login. Anything else (a reason, extra keys) goes to the schema.
 */
export function quickTouchAnswer(json: unknown): { code: ResultCode } | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const keys = Object.keys(json);
  if (keys.length !== 1 || keys[0] !== "code") return undefined;
  const code = (json as { code: unknown }).code;
  return typeof code === "string" && RESULT_CODE_SET.has(code) ? { code: code as ResultCode } : undefined;
}

/**
 * One line of a batched Touch answer (TOUCH_BATCH.line), or undefined when it is not one. The
 * common `{"i":k,"code":<result code>}` is checked by hand; anything else goes to the schema.
 * Whether `i` names a login of this call, once, is the caller's check (touch-batch-answers.ts).
 */
export function readTouchBatchLine(text: string): TouchBatchLine | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    const keys = Object.keys(json);
    const { i, code } = json as { i?: unknown; code?: unknown };
    if (
      keys.length === 2 &&
      Number.isInteger(i) &&
      (i as number) >= 0 &&
      (i as number) < TOUCH_BATCH_MAX_LOGINS &&
      typeof code === "string" &&
      RESULT_CODE_SET.has(code)
    ) {
      return { i: i as number, code: code as ResultCode };
    }
  }
  const parsed = TOUCH_BATCH.line.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
