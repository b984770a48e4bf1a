import { describe, expect, it } from "vitest";
import { LocalChallengeStore, MAX_CHALLENGES_PER_USER } from "../../../relay/src/challenge-store.ts";
import { ClientTable } from "../../../relay/src/radius/clients.ts";
import { RetransmitCache } from "../../../relay/src/radius/dedup.ts";

const auth = (n: number) => Buffer.alloc(16, n);

describe("RetransmitCache", () => {
  it("drops duplicates in flight, resends the cached reply after, forgets it after the TTL", () => {
    const c = new RetransmitCache(30_000, 60_000);
    const a = c.admit("10.0.0.1:5000", 1, auth(1), 0);
    expect(a.kind).toBe("new");
    expect(c.admit("10.0.0.1:5000", 1, auth(1), 100).kind).toBe("in_flight");
    const reply = Buffer.from("reply");
    expect(c.complete("10.0.0.1:5000", 1, (a as { ticket: number }).ticket, reply, 200)).toBe(true);
    expect(c.admit("10.0.0.1:5000", 1, auth(1), 300)).toEqual({ kind: "cached", reply });
    expect(c.admit("10.0.0.1:5000", 1, auth(1), 31_000).kind).toBe("new");
  });

  it("treats another source port, identifier or authenticator as a different request", () => {
    const c = new RetransmitCache(30_000, 60_000);
    c.admit("10.0.0.1:5000", 1, auth(1), 0);
    expect(c.admit("10.0.0.1:5001", 1, auth(1), 0).kind).toBe("new");
    expect(c.admit("10.0.0.1:5000", 2, auth(1), 0).kind).toBe("new");
  });

  it("a conflicting packet (same id, new authenticator) replaces the old; the old reply is discarded", () => {
    const c = new RetransmitCache(30_000, 60_000);
    const old = c.admit("10.0.0.1:5000", 9, auth(1), 0) as { ticket: number };
    const fresh = c.admit("10.0.0.1:5000", 9, auth(2), 10) as { kind: string; ticket: number };
    expect(fresh.kind).toBe("new");
    expect(c.complete("10.0.0.1:5000", 9, old.ticket, Buffer.from("late"), 20)).toBe(false);
    expect(c.complete("10.0.0.1:5000", 9, fresh.ticket, Buffer.from("ok"), 20)).toBe(true);
  });

  it("keeps its own copy of a reply, not a slice of Node's shared Buffer pool", () => {
    const c = new RetransmitCache(30_000, 60_000);
    const a = c.admit("s", 1, auth(1), 0) as { ticket: number };
    // Small Buffers are slices of one shared pool chunk (allocUnsafe, concat, from).
    const reply = Buffer.from([2, 1, 0, 20, ...auth(7)]);
    expect(reply.buffer.byteLength).toBeGreaterThan(reply.length);
    c.complete("s", 1, a.ticket, reply, 0);
    const cached = c.admit("s", 1, auth(1), 1) as { kind: "cached"; reply: Buffer };
    expect(cached.reply).toEqual(reply);
    expect(cached.reply.buffer.byteLength).toBe(reply.length);
    reply[0] = 99; // the pool chunk's other users may write to it: the cached reply stays as sent
    expect(cached.reply[0]).toBe(2);
  });

  it("abandon lets a retransmission be processed anew", () => {
    const c = new RetransmitCache(30_000, 60_000);
    const a = c.admit("s", 1, auth(1), 0) as { ticket: number };
    c.abandon("s", 1, a.ticket);
    expect(c.admit("s", 1, auth(1), 1).kind).toBe("new");
  });
});

describe("LocalChallengeStore", () => {
  const nas = { address: "10.0.0.1" };
  const base = { user: "alice", username: "alice", nas, msisdn: "+46701234567", method: "sms" as const };

  it("issues random 16-byte States, redeemable once", async () => {
    const s = new LocalChallengeStore(60_000);
    const st = await s.issue(base, 0);
    expect(st).toHaveLength(16);
    expect((await s.issue(base, 0)).equals(st)).toBe(false);
    expect(await s.redeem(st, "alice", nas, 1)).toMatchObject({ ok: true, challenge: { msisdn: "+46701234567" } });
    expect(await s.redeem(st, "alice", nas, 2)).toEqual({ ok: false, reason: "unknown" });
  });

  it("binds the State to user and NAS, and expires it", async () => {
    const s = new LocalChallengeStore(60_000);
    expect(await s.redeem(await s.issue(base, 0), "bob", nas, 1)).toEqual({ ok: false, reason: "mismatch" });
    expect(await s.redeem(await s.issue(base, 0), "alice", { address: "10.0.0.2" }, 1)).toEqual({ ok: false, reason: "mismatch" });
    expect(await s.redeem(await s.issue(base, 0), "alice", nas, 60_000)).toEqual({ ok: false, reason: "expired" });
    expect(await s.redeem(Buffer.alloc(16), "alice", nas, 1)).toEqual({ ok: false, reason: "unknown" });
  });

  it("one user's flood of challenges cannot evict another user's pending State", async () => {
    const s = new LocalChallengeStore(60_000, 100);
    const victim = await s.issue({ ...base, user: "bob", username: "bob" }, 0);
    // An attacker with one account (its password) asks for challenge after challenge.
    for (let i = 0; i < 1000; i++) await s.issue(base, 1);
    expect(await s.redeem(victim, "bob", nas, 2)).toMatchObject({ ok: true });
    expect(s.size).toBeLessThanOrEqual(MAX_CHALLENGES_PER_USER);
  });

  it("stays bounded under a flood", async () => {
    const s = new LocalChallengeStore(60_000, 100);
    // Many users (one user alone is capped at MAX_CHALLENGES_PER_USER, above).
    for (let i = 0; i < 1000; i++) await s.issue({ ...base, user: `u${i}`, username: `u${i}` }, 0);
    expect(s.size).toBe(100);
  });
});

describe("ClientTable", () => {
  const t = new ClientTable([
    { name: "net", address: "10.0.0.0/8", secret: "a", requireMessageAuthenticator: true },
    { name: "host", address: "10.1.2.3", secret: "b", requireMessageAuthenticator: true },
    { name: "v6", address: "2001:db8::/32", secret: "c", requireMessageAuthenticator: false },
  ]);
  it("matches the most specific block, IPv4-mapped addresses and IPv6", () => {
    expect(t.match("10.1.2.3")?.name).toBe("host");
    expect(t.match("10.9.9.9")?.name).toBe("net");
    expect(t.match("::ffff:10.9.9.9")?.name).toBe("net");
    expect(t.match("2001:db8::1")?.name).toBe("v6");
    expect(t.match("192.168.1.1")).toBeUndefined();
  });
  it("refuses bad addresses in config", () => {
    expect(() => new ClientTable([{ name: "x", address: "10.0.0.0/33", secret: "a", requireMessageAuthenticator: true }])).toThrow(
      /prefix/,
    );
    expect(() => new ClientTable([{ name: "x", address: "vpn.example.com", secret: "a", requireMessageAuthenticator: true }])).toThrow(
      /not an IP/,
    );
  });
});
