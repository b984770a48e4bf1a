/**
 * The async API's flows: start an authentication whose outcome is kept by an AsyncAuth object
 * (named by an unguessable id), and read it, long-polling, with a key of the endpoint that
 * started it. Admission, limits, overload lease and delivery are the blocking call's
 * (startSession); only the waiting differs.
 */
import type { BadRequestReason, SessionResultCode } from "../../core/codes";
import type { AuthQuery } from "../../core/contracts/magic-link";
import { maskMsisdn } from "../../core/msisdn";
import { randomToken } from "../../core/tokens";
import type { Config, Endpoint } from "../config/schema";
import { authenticateApiKey } from "../lib/api-keys";
import { objectStub } from "../lib/durable-objects";
import { resolveEndpoint } from "../store/endpoints";
import { sessionRequestFor, startSession } from "./authenticate";

export type AsyncStart =
  | { kind: "started"; id: string; deadline: number; sessionId: string; channel: string }
  | { kind: "refused"; reason: BadRequestReason; retryAfterMs?: number };

export async function startAsyncAuth(
  env: Env,
  config: Config,
  call: { endpoint: Endpoint; keyName: string },
  q: AuthQuery,
  publicOrigin: string,
): Promise<AsyncStart> {
  // 256 random bits: the id is a handle, not a credential (reading also needs the endpoint's key).
  const id = randomToken();
  const createdAt = Date.now();
  const request = { ...sessionRequestFor(env, call.endpoint, q, publicOrigin), notify: id };
  const started = await startSession(env, config, request, publicOrigin);
  if (started.kind === "refused") {
    return {
      kind: "refused",
      reason: started.reason,
      ...(started.retryAfterMs !== undefined ? { retryAfterMs: started.retryAfterMs } : {}),
    };
  }
  const common = { id, endpoint: call.endpoint.name, keyName: call.keyName, msisdn: maskMsisdn(q.msisdn), createdAt };
  const init =
    started.kind === "no_approvers"
      ? { ...common, session: null, sessionId: started.sessionId, channel: "none", deadline: createdAt, status: "failed_delivery" as const }
      : {
          ...common,
          session: started.address.name,
          ...(started.address.host !== null ? { sessionHost: started.address.host } : {}),
          sessionId: started.sessionId,
          channel: started.channel,
          deadline: started.deadline,
          status: started.status,
        };
  await objectStub(env, "ASYNC_AUTH", id).create(init);
  return { kind: "started", id, deadline: init.deadline, sessionId: started.sessionId, channel: init.channel };
}

export type AsyncLookup =
  | { kind: "not_found" }
  | { kind: "pending"; endpoint: Endpoint }
  | { kind: "finished"; endpoint: Endpoint; code: SessionResultCode };

/**
 * The authentication `id`, if `apiKey` is a live key of the endpoint that started it; else
 * not_found, whatever the reason (unknown id, purged, no key, another endpoint's key), so the
 * answer tells nothing about ids. Waits up to `waitMs` for a pending result.
 */
export async function readAsyncAuth(
  env: Env,
  config: Config,
  id: string,
  apiKey: string | undefined,
  waitMs: number,
): Promise<AsyncLookup> {
  // No key can read anything: answered before any object is touched (a key-less caller learns only that it sent none).
  if (!apiKey) return { kind: "not_found" };
  const stub = objectStub(env, "ASYNC_AUTH", id);
  const peeked = await stub.peek();
  if (peeked.kind === "not_found") return peeked;
  const endpoint = await resolveEndpoint(env.DB, config.endpoints, peeked.endpoint);
  const key = await authenticateApiKey(endpoint, apiKey, new Date());
  if (!key.ok || !endpoint) return { kind: "not_found" };
  const read = peeked.kind === "pending" && waitMs > 0 ? await stub.poll(waitMs) : peeked;
  if (read.kind === "not_found") return read;
  return read.kind === "pending" ? { kind: "pending", endpoint } : { kind: "finished", endpoint, code: read.code };
}
