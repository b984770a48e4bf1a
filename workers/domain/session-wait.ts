import { type WaitOutcome, WAIT_URL, parseOutcomeMessage } from "../objects/auth-session/contract";
import {
  SESSION_START_URL,
  START_HEADER,
  type SessionStartAnswer,
  type SessionStartArgs,
  encodeStartArgs,
  sessionWaitUrl,
} from "../objects/subscriber/contract";
import { objectStub } from "../lib/durable-objects";
import type { SessionAddress } from "./session-address";

/**
 * How long past the deadline a waiting socket that heard nothing is given up: the session's
 * alarm ends it at the deadline, so this only fires if that word was lost. Within
 * WAIT_RETRY_GRACE_MS (core/wait-retry.ts), so the caller's retry still runs and reads the
 * expired session.
 */
export const WAIT_GUARD_MS = 1000;

/**
 * One wait on the session over a hibernatable WebSocket (auth-session/contract.ts WAIT_URL, or
 * for a session its number's Subscriber hosts, subscriber/contract.ts sessionWaitUrl): the
 * outcome, or null for no such session. Throws when the socket ends without an outcome (the
 * object was reset or evicted mid-wait) or the object refuses; the caller decides on a retry.
 */
export async function waitOnSession(env: Env, session: SessionAddress, deadline: number): Promise<WaitOutcome | null> {
  const upgrade = { headers: { upgrade: "websocket" } };
  const res =
    session.host === null
      ? await objectStub(env, "AUTH_SESSION", session.name).fetch(WAIT_URL, upgrade)
      : await objectStub(env, "SUBSCRIBER", session.host).fetch(sessionWaitUrl(session.name), upgrade);
  if (res.status === 404) return null;
  if (res.status === 200) return parseOutcomeMessage(await res.text());
  const ws = res.webSocket;
  if (res.status !== 101 || !ws) throw new Error(`session wait refused: HTTP ${res.status}`);
  return outcomeOn(ws, deadline);
}

/**
 * Starts a session in its number's Subscriber and opens the wait on it in the same request
 * (subscriber/contract.ts SESSION_START_URL): the answer, and the open wait's socket when the
 * session is pending and the socket could be listed (else none: wait with waitOnSession).
 */
export async function startAndOpenWait(
  env: Env,
  msisdn: string,
  args: SessionStartArgs,
): Promise<{ answer: SessionStartAnswer; socket: WebSocket | null }> {
  const res = await objectStub(env, "SUBSCRIBER", msisdn).fetch(SESSION_START_URL, {
    headers: { upgrade: "websocket", [START_HEADER]: encodeStartArgs(args) },
  });
  if (res.status === 200) return { answer: await res.json<SessionStartAnswer>(), socket: null };
  const answer = res.headers.get(START_HEADER);
  if (res.status !== 101 || !res.webSocket || !answer) throw new Error(`session start refused: HTTP ${res.status}`);
  return { answer: JSON.parse(answer) as SessionStartAnswer, socket: res.webSocket };
}

/** The outcome sent on an open wait's socket; throws when it ends without one (see waitOnSession). */
export function outcomeOn(ws: WebSocket, deadline: number): Promise<WaitOutcome> {
  ws.accept();
  return new Promise<WaitOutcome>((resolve, reject) => {
    let settled = false;
    const settle = (end: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      end();
    };
    const guard = setTimeout(
      () =>
        settle(() => {
          try {
            ws.close(1000, "gave up");
          } catch {
            // already closed
          }
          reject(new Error("session wait: no outcome by the deadline"));
        }),
      Math.max(0, deadline + WAIT_GUARD_MS - Date.now()),
    );
    ws.addEventListener("message", (event) =>
      settle(() => {
        try {
          resolve(parseOutcomeMessage(event.data));
        } catch (e) {
          reject(e);
        }
      }),
    );
    ws.addEventListener("close", (event) => settle(() => reject(new Error(`session wait closed (${event.code}) before the outcome`))));
    ws.addEventListener("error", () => settle(() => reject(new Error("session wait socket failed"))));
  });
}
