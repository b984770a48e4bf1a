import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../workers/index";
import { answer, callAuth, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";

/**
 * Issue 10: no live secret in any log line. Every console call of the Worker and its objects
 * (they run in this isolate) is captured while a session is pending or failing.
 */
let lines: string[];
beforeEach(() => {
  lines = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  }
});
afterEach(() => vi.restoreAllMocks());

const tokenOf = (link: string) => new URL(link).pathname.split("/")[2]!;
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

describe("log redaction", () => {
  it("an unhandled error on a pending session's link logs the path without its token", async () => {
    const msisdn = freshMsisdn();
    const call = callAuth(msisdn);
    const link = await waitForLink(msisdn);
    // The objects that may hold the session cannot be reached: the route throws, onError logs the request.
    const unavailable = {
      getByName: () => {
        throw new Error("object store unavailable");
      },
    };
    const broken = { ...env, AUTH_SESSION: unavailable, SUBSCRIBER: unavailable } as unknown as Env;
    const res = await worker.fetch(new Request(link), broken, ctx);
    expect(res.status).toBe(500);
    const logged = lines.find((l) => l.includes("unhandled_error"));
    expect(logged).toContain("/m/[redacted]");

    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await (await call).json()).toEqual({ code: "TOUCH_ACCEPTED" });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).not.toContain(tokenOf(link));
  });

  it("a gateway reply that echoes the SMS (link included) never reaches a log line", async () => {
    const msisdn = freshMsisdn("0003");
    const res = await callAuth(msisdn);
    expect(await res.json()).toEqual({ code: "FAILED_DELIVERY" });
    const [sent] = await gatewayRequests(msisdn);
    const link = sent!.text!.match(/https?:\/\/\S+\/m\/[A-Za-z0-9_-]{43}/)![0];
    expect(lines.some((l) => l.includes("delivery_failed"))).toBe(true);
    for (const l of lines) {
      expect(l).not.toContain(tokenOf(link));
      expect(l).not.toContain("invalid request:");
    }
  });
});
