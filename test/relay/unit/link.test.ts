import { describe, expect, it } from "vitest";
import type { LinkResponseFrame } from "../../../core/contracts/relay-link.ts";
import { backoffDelayMs, DEFAULT_BACKOFF, nextAttempt } from "../../../relay/src/link/backoff.ts";
import { normalizeDn, registerDirectoryHandlers } from "../../../relay/src/link/directory-handlers.ts";
import type { LdapDirectory } from "../../../relay/src/link/directory.ts";
import { LinkDispatcher, LinkHandlerError } from "../../../relay/src/link/dispatch.ts";
import { TtlCache } from "../../../relay/src/link/ttl-cache.ts";
import type { Logger } from "../../../relay/src/log.ts";

/** The relay link's pure parts: back-off, the dispatcher's answers to every kind of frame, the cache. */
function recorder(): Logger & { lines: Array<{ event: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ event: string; fields?: Record<string, unknown> }> = [];
  return { lines, log: (_level, event, fields) => lines.push({ event, ...(fields ? { fields } : {}) }) };
}
const request = (op: string, args: unknown, id = "r1") => JSON.stringify({ type: "request", id, op, args });
const errorOf = (f: LinkResponseFrame | null) => (f && !f.ok ? f.error.code : null);

describe("back-off", () => {
  it("doubles from 0.5 s to the 30 s cap with jitter in [cap/2, cap], and resets after a healthy link", () => {
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 0)).toBe(250);
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 1)).toBe(500);
    expect(backoffDelayMs(3, DEFAULT_BACKOFF, () => 1)).toBe(4000);
    expect(backoffDelayMs(50, DEFAULT_BACKOFF, () => 1)).toBe(30_000);
    expect(backoffDelayMs(50, DEFAULT_BACKOFF, () => 0)).toBe(15_000);
    expect(nextAttempt(5, 0, DEFAULT_BACKOFF)).toBe(6);
    expect(nextAttempt(5, 59_000, DEFAULT_BACKOFF)).toBe(6);
    expect(nextAttempt(5, 60_000, DEFAULT_BACKOFF)).toBe(0);
  });
});

describe("link dispatcher", () => {
  it("answers a registered op with its validated result, on normalised arguments", async () => {
    const d = new LinkDispatcher({ timeoutMs: 500, log: recorder() });
    const seen: string[] = [];
    d.register("user.lookup", async ({ username }) => {
      seen.push(username);
      return { found: true, displayName: "Alice", msisdn: "+46701234567" };
    });
    expect(await d.handle(request("user.lookup", { username: " Alice " }))).toEqual({
      type: "response",
      id: "r1",
      ok: true,
      result: { found: true, displayName: "Alice", msisdn: "+46701234567" },
    });
    expect(seen).toEqual(["alice"]);
  });

  it("unknown op: unsupported; bad arguments: bad_request; slow: timeout; thrown: relay_error without its message", async () => {
    const log = recorder();
    const d = new LinkDispatcher({ timeoutMs: 100, log });
    d.register("group.members", async ({ group }) => {
      if (group === "slow") return new Promise(() => {});
      if (group === "coded") throw new LinkHandlerError("bad_request", "not this group");
      if (group === "invalid") return { members: [{ username: "x", displayName: "X", msisdn: "0701" }] };
      throw new Error("ldap password=hunter2 rejected");
    });
    expect(errorOf(await d.handle(request("user.lookup", { username: "a" })))).toBe("unsupported");
    expect(errorOf(await d.handle(request("rm -rf", {})))).toBe("unsupported");
    expect(errorOf(await d.handle(request("group.members", { group: "" })))).toBe("bad_request");
    expect(errorOf(await d.handle(request("group.members", { group: "slow" })))).toBe("timeout");
    expect(errorOf(await d.handle(request("group.members", { group: "coded" })))).toBe("bad_request");
    expect(errorOf(await d.handle(request("group.members", { group: "invalid" })))).toBe("relay_error");
    const failed = await d.handle(request("group.members", { group: "boom" }));
    expect(errorOf(failed)).toBe("relay_error");
    expect(JSON.stringify(failed)).not.toContain("hunter2");
  });

  it("malformed frames are logged and answered with nothing", async () => {
    const log = recorder();
    const d = new LinkDispatcher({ timeoutMs: 100, log });
    for (const text of ["", "{", "null", "[]", '{"type":"response","id":"x","ok":true}', JSON.stringify({ type: "request", op: "x" })]) {
      expect(await d.handle(text)).toBeNull();
    }
    expect(log.lines.filter((l) => l.event === "link_bad_frame")).toHaveLength(6);
  });
});

describe("directory handlers without LDAP", () => {
  const config = {
    users: { alice: { msisdn: "+46701234567" } },
    usernameAsMsisdn: false,
    link: {
      enabled: true,
      requestTimeoutMs: 1000,
      keepaliveSeconds: 20,
      groups: ["cn=Approvers, ou=groups,dc=example,dc=com"],
      groupCacheSeconds: 60,
    },
  };
  it("user.lookup uses the users map; group.members refuses groups not listed, and needs a directory", async () => {
    const d = new LinkDispatcher({ timeoutMs: 500, log: recorder() });
    registerDirectoryHandlers(d, config, null, recorder());
    const ok = await d.handle(request("user.lookup", { username: "ALICE" }));
    expect(ok).toMatchObject({ ok: true, result: { found: true, msisdn: "+46701234567" } });
    expect(await d.handle(request("user.lookup", { username: "mallory" }))).toMatchObject({ ok: true, result: { found: false } });
    expect(errorOf(await d.handle(request("group.members", { group: "cn=admins,dc=example,dc=com" })))).toBe("bad_request");
    expect(errorOf(await d.handle(request("group.members", { group: "CN=approvers,OU=groups,DC=example,DC=com" })))).toBe("unsupported");
  });
  it("user.lookup names the account found: the users map's key", async () => {
    const d = new LinkDispatcher({ timeoutMs: 500, log: recorder() });
    registerDirectoryHandlers(d, config, null, recorder());
    expect(await d.handle(request("user.lookup", { username: " Alice " }))).toMatchObject({ ok: true, result: { username: "alice" } });
  });
  it("DNs compare without case and separator spaces", () => {
    expect(normalizeDn("CN=Approvers, OU=Groups ,dc=Example")).toBe("cn=approvers,ou=groups,dc=example");
  });
});

describe("directory handlers with a directory", () => {
  // The directory's answers as LdapDirectory gives them (the slapd test in test/relay/relay-link.test.ts reads real entries).
  const directory = {
    user: async (name: string) =>
      name === "carol@example.com" ? { username: "carol", displayName: "Carol", msisdn: "+46701111111" } : null,
    groupMembers: async () => ({
      members: [
        { username: "alice", displayName: "Alice", msisdn: "+46702222222" },
        { username: "Carol ", displayName: "Carol (desk)", msisdn: "+46703333333" },
      ],
      skipped: 0,
    }),
  } as unknown as LdapDirectory;
  const config = {
    users: {},
    usernameAsMsisdn: false,
    link: { enabled: true, requestTimeoutMs: 1000, keepaliveSeconds: 20, groups: ["cn=approvers,dc=example,dc=com"], groupCacheSeconds: 0 },
  };

  it("user.lookup answers the account name the search found (it may have matched on another attribute)", async () => {
    const d = new LinkDispatcher({ timeoutMs: 500, log: recorder() });
    registerDirectoryHandlers(d, config, directory, recorder());
    expect(await d.handle(request("user.lookup", { username: "Carol@Example.com" }))).toEqual({
      type: "response",
      id: "r1",
      ok: true,
      result: { found: true, username: "carol", displayName: "Carol", msisdn: "+46701111111" },
    });
  });

  it("group.members answers each member's login name, normalised: the edge's name for the approver", async () => {
    const d = new LinkDispatcher({ timeoutMs: 500, log: recorder() });
    registerDirectoryHandlers(d, config, directory, recorder());
    const frame = await d.handle(request("group.members", { group: "cn=approvers,dc=example,dc=com" }));
    expect(frame?.ok ? frame.result : frame).toEqual({
      members: [
        { username: "alice", displayName: "Alice", msisdn: "+46702222222" },
        { username: "carol", displayName: "Carol (desk)", msisdn: "+46703333333" },
      ],
    });
  });
});

describe("TTL cache", () => {
  it("forgets entries after the TTL, keeps at most max, and caches nothing with TTL 0", () => {
    let now = 0;
    const c = new TtlCache<number>(1000, { now: () => now, max: 2 });
    c.set("a", 1);
    expect(c.get("a")).toBe(1);
    now = 1000;
    expect(c.get("a")).toBeUndefined();
    c.set("a", 1);
    c.set("b", 2);
    c.set("c", 3);
    expect([c.get("a"), c.get("b"), c.get("c")]).toEqual([undefined, 2, 3]);
    const off = new TtlCache<number>(0);
    off.set("a", 1);
    expect(off.get("a")).toBeUndefined();
  });
});
