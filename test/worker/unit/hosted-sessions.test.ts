import { afterEach, describe, expect, it, vi } from "vitest";
import { HostedSessions, type SessionsHost } from "../../../workers/objects/subscriber/sessions";
import type { Finished } from "../../../workers/objects/session/state";

/**
 * The sessions a Subscriber hosts (sessions.ts), over a storage kept in a Map: the schedule
 * follows the stored states, one session's failing timer is logged and retried without
 * holding up the others', and names that find no session leave nothing in memory.
 */
const ALARM_RETRY_MS = 30_000;

function memoryStorage(failDeleteOf: string | null = null) {
  const data = new Map<string, unknown>();
  const storage = {
    get: async (key: string) => structuredClone(data.get(key)),
    put: async (key: string, value: unknown) => void data.set(key, structuredClone(value)),
    list: async ({ prefix = "", limit = Number.POSITIVE_INFINITY }: { prefix?: string; limit?: number } = {}) =>
      new Map([...data].filter(([k]) => k.startsWith(prefix)).slice(0, limit)),
    delete: async (keys: string[]) => {
      if (failDeleteOf && keys.some((k) => k.startsWith(`s:${failDeleteOf}:`))) throw new Error("storage unavailable");
      for (const k of keys) data.delete(k);
      return keys.length;
    },
  };
  return { data, storage: storage as unknown as DurableObjectStorage };
}

function hosted(storage: DurableObjectStorage) {
  const rearms: number[] = [];
  const host: SessionsHost = {
    env: {} as Env,
    storage,
    getWebSockets: () => [],
    acceptWebSocket: () => {},
    waitUntil: () => {},
    sessionId: (name) => `id-${name}`,
    subscriber: () => {
      throw new Error("no subscriber in this test");
    },
    rearm: async () => void rearms.push(Date.now()),
    devicesSince: async () => null,
  };
  return { sessions: new HostedSessions(host), rearms };
}

const name = (c: string) => c.repeat(64);
function tombstone(n: string, purgeAt: number): Finished {
  return {
    status: "accepted",
    name: n,
    createdAt: purgeAt - 60_000,
    expiresAt: purgeAt - 30_000,
    tombstoneMs: 30_000,
    purgeAt,
    endpoint: "default",
    leaseShard: null,
    channel: "sms",
  } as Finished;
}

afterEach(() => vi.restoreAllMocks());

describe("hosted sessions", () => {
  it("the schedule is read from the stored states: the earliest wake, and what is due runs", async () => {
    const { data, storage } = memoryStorage();
    const now = Date.now();
    data.set(`s:${name("a")}:session`, tombstone(name("a"), now - 1));
    data.set(`s:${name("b")}:session`, tombstone(name("b"), now + 60_000));
    data.set("rate", []); // the Subscriber's own keys are not sessions
    const { sessions } = hosted(storage);
    expect(await sessions.nextWake()).toBe(now - 1);
    await sessions.runDue(Date.now());
    expect(data.has(`s:${name("a")}:session`)).toBe(false);
    expect(await sessions.holds(name("a"))).toBe(false);
    expect(await sessions.holds(name("b"))).toBe(true);
    expect(await sessions.nextWake()).toBe(now + 60_000);
  });

  it("a session whose timer fails is logged and woken again 30 s on; the other due sessions still run", async () => {
    const { data, storage } = memoryStorage(name("a"));
    const now = Date.now();
    data.set(`s:${name("a")}:session`, tombstone(name("a"), now - 2));
    data.set(`s:${name("b")}:session`, tombstone(name("b"), now - 1));
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    const { sessions, rearms } = hosted(storage);

    const before = Date.now();
    await sessions.runDue(before);
    // b's purge ran although a's came first and threw.
    expect(data.has(`s:${name("b")}:session`)).toBe(false);
    expect(data.has(`s:${name("a")}:session`)).toBe(true);
    expect(errors.some((l) => l.includes('"event":"session_alarm_failed"') && l.includes("storage unavailable"))).toBe(true);
    const retry = await sessions.nextWake();
    expect(retry).toBeGreaterThanOrEqual(before + ALARM_RETRY_MS);
    expect(retry).toBeLessThanOrEqual(Date.now() + ALARM_RETRY_MS);
    // The host was told the schedule moved, so its alarm follows the retry.
    expect(rearms.length).toBeGreaterThan(0);
  });

  it("names that find no session leave no runtime in memory; a held session's stays", async () => {
    const { data, storage } = memoryStorage();
    data.set(`s:${name("a")}:session`, tombstone(name("a"), Date.now() + 60_000));
    const { sessions } = hosted(storage);
    for (let i = 0; i < 200; i++) {
      const made = i.toString(16).padStart(64, "f");
      expect(await sessions.use(made, (s) => s.waitOutcome())).toBeNull();
    }
    expect(sessions.inMemory).toBe(0);
    expect(await sessions.use(name("a"), (s) => s.waitOutcome())).toEqual({ status: "accepted" });
    expect(sessions.inMemory).toBe(1);
  });
});
