import type { z } from "zod";
import { EDGE_UNAVAILABLE_ERROR, EDGE_UNAVAILABLE_STATUS } from "../../core/contracts/relay.ts";

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

export function classifyEdgeResponse<T>(status: number, text: string, schema: z.ZodType<T>): EdgeAnswer<T> {
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
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { kind: "refused", reason: `edge answer not as specified: ${text.slice(0, 200)}` };
  return { kind: "ok", value: parsed.data };
}
