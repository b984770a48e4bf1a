import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_TEXTS } from "../../workers/config/schema";
import { WAIT_URL, parseOutcomeMessage } from "../../workers/objects/auth-session/contract";
import { waitOnSession } from "../../workers/domain/session-wait";

/**
 * The blocking call waits on its session over a hibernatable WebSocket (workers/domain/
 * session-wait.ts): the outcome arrives once, the object holds no request open meanwhile (it
 * can be evicted mid-wait and still delivers), and a finished or unknown session answers at once.
 */
/** A session in an AuthSession object of its own (these tests' sessions; session-hosting.test.ts has the Subscriber's). */
const own = (name: string) => ({ name, host: null });

async function startSession(timeoutMs = 60_000, leaseShard: string | null = null) {
  const name = `wait-${crypto.randomUUID()}`;
  const stub = env.AUTH_SESSION.getByName(name);
  await stub.start({
    name,
    msisdn: `+4670${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`,
    endpoint: "default",
    texts: DEFAULT_TEXTS,
    smsText: "x",
    link: "https://mfa.example.com/m/x",
    timeoutMs,
    tombstoneMs: 60_000,
    leaseShard,
    app: { activation: false, push: null, matchNumber: null, callerShowsNumber: false },
  });
  const view = await stub.view();
  const csrf = (view as { csrf: string }).csrf;
  return { name, stub, csrf, deadline: Date.now() + timeoutMs };
}

/** Every message one raw waiting socket gets until it closes. */
async function rawWait(name: string): Promise<{ status: number; messages: string[] }> {
  const res = await env.AUTH_SESSION.getByName(name).fetch(WAIT_URL, { headers: { upgrade: "websocket" } });
  const ws = res.webSocket;
  if (!ws) return { status: res.status, messages: [await res.text()] };
  ws.accept();
  const messages: string[] = [];
  ws.addEventListener("message", (e) => {
    messages.push(String(e.data));
  });
  await new Promise((r) => ws.addEventListener("close", r));
  return { status: res.status, messages };
}

describe("the blocking call's wait on its session", () => {
  it("delivers the outcome once to each waiting call, when the user answers (not before)", async () => {
    const s = await startSession();
    let settled = false;
    const waiting = waitOnSession(env, own(s.name), s.deadline).finally(() => (settled = true));
    const raw = rawWait(s.name);
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    expect(await s.stub.decide("accept", s.csrf)).toMatchObject({ kind: "decided" });
    expect(await waiting).toEqual({ status: "accepted" });
    const r = await raw;
    expect(r.status).toBe(101);
    expect(r.messages.map((m) => parseOutcomeMessage(m))).toEqual([{ status: "accepted" }]);
  });

  it("hands the session's overload lease to exactly one waiting call, with the outcome", async () => {
    const s = await startSession(60_000, "shard-7");
    const raws = [rawWait(s.name), rawWait(s.name)];
    await new Promise((r) => setTimeout(r, 100));
    expect(await s.stub.decide("accept", s.csrf)).toMatchObject({ kind: "decided" });
    const outcomes = (await Promise.all(raws)).flatMap((r) => r.messages.map((m) => parseOutcomeMessage(m)));
    const id = env.AUTH_SESSION.idFromName(s.name).toString();
    expect(outcomes).toHaveLength(2);
    expect(outcomes.filter((o) => o.lease)).toEqual([{ status: "accepted", lease: { shard: "shard-7", id } }]);
    expect(outcomes.filter((o) => !o.lease)).toEqual([{ status: "accepted" }]);
  });

  it("holds no request open while waiting: the object can be evicted mid-wait and still delivers", async () => {
    const s = await startSession();
    const waiting = waitOnSession(env, own(s.name), s.deadline);
    await new Promise((r) => setTimeout(r, 50));
    // With a blocking RPC in flight the runtime refuses this ("still has active references").
    await evictDurableObject(s.stub);
    expect(await env.AUTH_SESSION.getByName(s.name).decide("reject", s.csrf)).toMatchObject({ kind: "decided" });
    expect(await waiting).toEqual({ status: "rejected" });
  });

  it("a finished session answers at once (no socket), an unknown one with null", async () => {
    const s = await startSession();
    await s.stub.decide("accept", s.csrf);
    const raw = await rawWait(s.name);
    expect(raw.status).toBe(200);
    expect(await waitOnSession(env, own(s.name), s.deadline)).toEqual({ status: "accepted" });
    expect(await waitOnSession(env, own(`never-started-${crypto.randomUUID()}`), s.deadline)).toBeNull();
  });

  it("the deadline ends the wait with the expired outcome (the alarm, even with the object evicted)", async () => {
    const s = await startSession(15_000);
    const waiting = waitOnSession(env, own(s.name), s.deadline);
    await new Promise((r) => setTimeout(r, 50));
    await evictDurableObject(s.stub);
    // The alarm fires at the deadline; run it now, with the clock past the deadline.
    await runInDurableObject(s.stub, async (_i, state) => {
      const stored = (await state.storage.get("session")) as { expiresAt: number };
      await state.storage.put("session", { ...stored, expiresAt: Date.now() - 1 });
    });
    await evictDurableObject(s.stub); // drop the in-memory copy: the alarm reloads what was stored
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect(await waiting).toEqual({ status: "expired" });
  });

  it("a reset mid-wait ends the socket without an outcome (the caller retries), never with a made-up one", async () => {
    const s = await startSession();
    const waiting = waitOnSession(env, own(s.name), s.deadline).then(
      (outcome) => ({ outcome }),
      (error: unknown) => ({ error }),
    );
    await new Promise((r) => setTimeout(r, 50));
    await runInDurableObject(s.stub, (_i, state) => state.abort("simulated restart")).catch(() => {});
    const ended = await waiting;
    expect(ended).not.toHaveProperty("outcome");
    expect(String((ended as { error: unknown }).error)).toMatch(/session wait/);
    // The state survived: a new wait gets the answer given afterwards.
    const again = waitOnSession(env, own(s.name), s.deadline);
    await env.AUTH_SESSION.getByName(s.name).decide("accept", s.csrf);
    expect(await again).toEqual({ status: "accepted" });
  });

  it("refuses anything but an outcome from the socket", () => {
    expect(() => parseOutcomeMessage('{"status":"pending"}')).toThrow();
    expect(() => parseOutcomeMessage('{"status":"accepted","answeredBy":{"deviceId":1}}')).toThrow();
    expect(() => parseOutcomeMessage("not json")).toThrow();
    expect(() => parseOutcomeMessage('{"status":"accepted","lease":{"shard":"shard-1"}}')).toThrow();
    expect(() => parseOutcomeMessage('{"status":"accepted","lease":"shard-1"}')).toThrow();
    expect(parseOutcomeMessage('{"status":"rejected","lease":{"shard":"shard-1","id":"abc"},"extra":1}')).toEqual({
      status: "rejected",
      lease: { shard: "shard-1", id: "abc" },
    });
    expect(parseOutcomeMessage('{"status":"accepted","answeredBy":{"deviceId":"d","name":"Phone"}}')).toEqual({
      status: "accepted",
      answeredBy: { deviceId: "d", name: "Phone" },
    });
  });
});
