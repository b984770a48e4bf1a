import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jurisdictionFromEnv, objectStub } from "../../workers/lib/durable-objects";
import { callAuth, codeOf, freshMsisdn } from "./support/magic-link";

/**
 * DO_JURISDICTION=eu: every namespace the edge uses goes through `jurisdiction("eu")`.
 * workerd does not implement jurisdictions (it throws), so each namespace is wrapped in a
 * recorder that notes the call and keeps using the real namespace; what is checked is which
 * namespace every id and stub came from. That no code bypasses the helper is checked
 * statically by test/architecture/durable-object-access.test.ts.
 */
const BINDINGS = ["AUTH_SESSION", "SUBSCRIBER", "LOAD_SHARD", "IP_LIMITER", "DEV_OUTBOX", "RELAY_REPLAY"] as const;
const STUB_METHODS = new Set(["getByName", "idFromName", "idFromString", "newUniqueId", "get"]);

/** `BINDING.method@jurisdiction` (or `@none`) for every id or stub taken from a namespace. */
function recordingEnv(jurisdiction: string): { env: Env; calls: string[] } {
  const calls: string[] = [];
  const wrap = (name: string, real: object, scope: string | null): object =>
    new Proxy(real, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop === "jurisdiction") {
          return (j: string) => {
            calls.push(`${name}.jurisdiction(${j})`);
            return wrap(name, target, j);
          };
        }
        if (typeof prop === "string" && STUB_METHODS.has(prop) && typeof value === "function") {
          return (...args: unknown[]) => {
            calls.push(`${name}.${prop}@${scope ?? "none"}`);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value;
      },
    });
  const wrapped = Object.fromEntries(BINDINGS.map((b) => [b, wrap(b, env[b], null)]));
  return { env: { ...env, ...wrapped, DO_JURISDICTION: jurisdiction } as Env, calls };
}

describe("DO_JURISDICTION", () => {
  it("is read strictly: empty is none, eu is eu, anything else names the setting", () => {
    expect(jurisdictionFromEnv({ DO_JURISDICTION: "" })).toBeNull();
    expect(jurisdictionFromEnv({ DO_JURISDICTION: "eu" })).toBe("eu");
    expect(() => jurisdictionFromEnv({ DO_JURISDICTION: "EU-west" })).toThrow(/DO_JURISDICTION/);
    const { env: bad } = recordingEnv("mars");
    expect(() => objectStub(bad, "SUBSCRIBER", "+46700000000")).toThrow(/DO_JURISDICTION must be empty or one of eu/);
  });

  it('set to "eu": a whole Magic Link call takes every id and stub from the EU namespaces', async () => {
    const { env: eu, calls } = recordingEnv("eu");
    // A number the fake gateway refuses: the session runs admission, lease, start and delivery, then ends.
    expect(await codeOf(callAuth(freshMsisdn("0000"), { env: eu }))).toBe("FAILED_DELIVERY");
    const stubs = calls.filter((c) => !c.includes(".jurisdiction("));
    expect(stubs.length).toBeGreaterThanOrEqual(3);
    expect(stubs.filter((c) => !c.endsWith("@eu"))).toEqual([]);
    // The session is hosted by the number's Subscriber; its id (the lease's key) is still the AuthSession namespace's.
    for (const used of ["AUTH_SESSION.idFromName@eu", "SUBSCRIBER.getByName@eu", "LOAD_SHARD.getByName@eu"]) {
      expect(stubs).toContain(used);
    }
    expect(calls).toContain("SUBSCRIBER.jurisdiction(eu)");
  });

  it("set to eu: failed calls are counted per client address in the EU IpLimiter", async () => {
    const { env: eu, calls } = recordingEnv("eu");
    const worker = (await import("../../workers/index")).default;
    const req = new Request(`https://mfa.example.com/api/sfwa/auth?msisdn=${encodeURIComponent(freshMsisdn())}`, {
      headers: { "api-key": "not-a-key", "cf-connecting-ip": "198.51.100.77" },
    });
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    expect(await codeOf(worker.fetch(req, eu, ctx))).toBe("BAD_REQUEST");
    expect(calls).toContain("IP_LIMITER.getByName@eu");
    expect(calls.filter((c) => c.endsWith("@none"))).toEqual([]);
  });

  it("unset: the namespaces are used as they are, never through jurisdiction()", async () => {
    const { env: plain, calls } = recordingEnv("");
    expect(await codeOf(callAuth(freshMsisdn("0000"), { env: plain }))).toBe("FAILED_DELIVERY");
    expect(calls.filter((c) => c.includes(".jurisdiction("))).toEqual([]);
    expect(calls).toContain("SUBSCRIBER.getByName@none");
    expect(calls).toContain("AUTH_SESSION.idFromName@none");
  });
});
