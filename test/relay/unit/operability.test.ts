import { readFileSync } from "node:fs";
import radius from "radius";
import { describe, expect, it } from "vitest";
import { AccountingRecorder, MAX_FORWARDS_IN_FLIGHT } from "../../../relay/src/accounting.ts";
import { LocalChallengeStore } from "../../../relay/src/challenge-store.ts";
import { parseRelayConfig, type RelayConfig } from "../../../relay/src/config.ts";
import type { EdgeApi } from "../../../relay/src/edge-client.ts";
import { EdgeHealth, type EdgeHealthResult } from "../../../relay/src/edge-health.ts";
import { firstFactorFrom } from "../../../relay/src/first-factor/index.ts";
import { LiveConfig } from "../../../relay/src/live-config.ts";
import { jsonLogger } from "../../../relay/src/log.ts";
import { RelayMetrics, latencyBuckets } from "../../../relay/src/metrics.ts";
import { RetransmitCache } from "../../../relay/src/radius/dedup.ts";
import { cachedHmacKeys, hmacMd5 } from "../../../relay/src/radius/digest.ts";
import { applyReload, planReload } from "../../../relay/src/reload.ts";
import { decodeRequest } from "../../../relay/src/radius/packet.ts";
import { RequestHandler } from "../../../relay/src/request-handler.ts";
import { startUpstreamAccounting } from "../../support/upstream-accounting.ts";

/** The relay's operability parts without sockets: reload planning, the health probe cache, metrics, accounting dedup. */
const base = {
  clients: [{ name: "vpn", address: "127.0.0.1", secret: "s" }],
  edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/dev/null" },
  firstFactor: { type: "none" },
  users: { alice: { msisdn: "+46701234567" } },
};
const config = (more: Record<string, unknown> = {}): RelayConfig => parseRelayConfig({ ...base, ...more });

describe("planReload", () => {
  it("takes clients, users and per-request settings from the new file, keeps the rest and names it", () => {
    const current = config();
    const next = config({
      clients: [{ name: "new", address: "10.0.0.0/8", secret: "t" }],
      users: { bob: {} },
      secondFactor: "sms",
      failMode: "safe",
      listen: { host: "127.0.0.1", port: 1645 },
      edge: { ...base.edge, url: "https://other.example" },
      replyCacheSeconds: 60,
    });
    const plan = planReload(current, next);
    expect(plan.config.clients).toEqual(next.clients);
    expect(plan.config.users).toEqual({ bob: {} });
    expect(plan.config.secondFactor).toBe("sms");
    expect(plan.config.failMode).toBe("safe");
    expect(plan.config.listen).toEqual(current.listen);
    expect(plan.config.edge).toEqual(current.edge);
    expect(plan.config.replyCacheSeconds).toBe(current.replyCacheSeconds);
    expect(plan.applied).toEqual(["clients", "failMode", "secondFactor", "users"]);
    expect(plan.restartNeeded).toEqual(["edge", "listen", "replyCacheSeconds"]);
  });

  it("an unchanged file changes nothing; a section added (admin, accounting) needs a restart", () => {
    expect(planReload(config(), config())).toMatchObject({ applied: [], restartNeeded: [] });
    expect(planReload(config(), config({ admin: {}, accounting: {} })).restartNeeded).toEqual(["accounting", "admin"]);
  });

  it("applyReload keeps the running settings when loading or the client table fails, with one error line", () => {
    const lines: string[] = [];
    const log = jsonLogger("debug", (l) => lines.push(l));
    const live = new LiveConfig(config());
    const metrics = new RelayMetrics({ touchTimeoutSeconds: 30, processMetrics: false });
    expect(
      applyReload(
        live,
        () => {
          throw new Error("invalid relay config: clients");
        },
        log,
        metrics,
      ),
    ).toBe(false);
    expect(applyReload(live, () => config({ clients: [{ name: "x", address: "not-an-ip", secret: "s" }] }), log, metrics)).toBe(false);
    expect(live.current.clients[0]?.name).toBe("vpn");
    expect(live.clients.match("127.0.0.1")?.name).toBe("vpn");
    expect(lines.filter((l) => l.includes("config_reload_refused"))).toHaveLength(2);
    expect(applyReload(live, () => config({ clients: [{ name: "lan", address: "127.0.0.0/8", secret: "s" }] }), log, metrics)).toBe(true);
    expect(live.clients.match("127.0.0.9")?.name).toBe("lan");
  });

  it("a reload that changes the clients forgets the HMAC keys cached for their secrets; one that does not keeps them", () => {
    const log = jsonLogger("error", () => {});
    const live = new LiveConfig(config());
    const metrics = new RelayMetrics({ touchTimeoutSeconds: 30, processMetrics: false });
    hmacMd5("the-old-secret", Buffer.from("packet"));
    expect(cachedHmacKeys()).toBeGreaterThan(0);
    expect(applyReload(live, () => config({ users: { carol: {} } }), log, metrics)).toBe(true);
    expect(cachedHmacKeys()).toBeGreaterThan(0);
    expect(
      applyReload(
        live,
        () => config({ users: { carol: {} }, clients: [{ name: "vpn", address: "127.0.0.1", secret: "rotated" }] }),
        log,
        metrics,
      ),
    ).toBe(true);
    expect(cachedHmacKeys()).toBe(0);
  });
});

describe("admin config", () => {
  it("relay.example.json loads, with its admin port on loopback and accounting forwarded", () => {
    const example = parseRelayConfig(JSON.parse(readFileSync("relay/relay.example.json", "utf8")));
    expect(example.admin?.listen).toEqual({ host: "127.0.0.1", port: 9812 });
    expect(example.accounting?.forward?.port).toBe(1813);
  });

  it("listens on loopback by default and refuses another address unless asked for", () => {
    expect(config({ admin: {} }).admin?.listen).toEqual({ host: "127.0.0.1", port: 9812 });
    expect(() => config({ admin: { listen: { host: "0.0.0.0" } } })).toThrow(/admin\.allowNonLoopback/);
    expect(config({ admin: { listen: { host: "0.0.0.0" }, allowNonLoopback: true } }).admin?.listen.host).toBe("0.0.0.0");
    expect(config({ admin: { listen: { host: "::1" } } }).admin?.listen.host).toBe("::1");
    expect(config().admin).toBeUndefined();
  });
});

describe("EdgeHealth", () => {
  it("probes once per cache period and once at a time, whatever the polling", async () => {
    let now = 0;
    let probes = 0;
    let answer: EdgeHealthResult = { ok: true };
    const health = new EdgeHealth(
      async () => {
        probes++;
        await new Promise((r) => setTimeout(r, 10));
        return answer;
      },
      5000,
      () => now,
    );
    const burst = await Promise.all(Array.from({ length: 50 }, () => health.check()));
    expect(burst.every((r) => r.ok)).toBe(true);
    expect(probes).toBe(1);
    now = 4999;
    answer = { ok: false, reason: "edge unreachable" };
    expect((await health.check()).ok).toBe(true); // still the cached answer
    now = 5010;
    expect(await health.check()).toEqual({ ok: false, reason: "edge unreachable" });
    expect(probes).toBe(2);
  });

  it("a probe that throws reports unhealthy instead of failing /healthz", async () => {
    const health = new EdgeHealth(() => Promise.reject(new Error("boom")), 1000);
    expect(await health.check()).toMatchObject({ ok: false });
  });
});

describe("RelayMetrics", () => {
  it("keeps a registry per relay: two instances count apart", async () => {
    const a = new RelayMetrics({ touchTimeoutSeconds: 30, processMetrics: false });
    const b = new RelayMetrics({ touchTimeoutSeconds: 30, processMetrics: false });
    a.retransmit("cached");
    a.retransmit("cached");
    b.retransmit("cached");
    expect(await a.text()).toContain('edge_mfa_relay_retransmits_absorbed_total{kind="cached"} 2');
    expect(await b.text()).toContain('edge_mfa_relay_retransmits_absorbed_total{kind="cached"} 1');
  });

  it("latency buckets reach the Touch timeout and its slack, no further", () => {
    expect(latencyBuckets(30)).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45]);
    expect(latencyBuckets(25).slice(-3)).toEqual([25, 30, 40]);
  });

  it("reads cache sizes at scrape time", async () => {
    const m = new RelayMetrics({ touchTimeoutSeconds: 30, processMetrics: false });
    let size = 3;
    m.sizeGauge("test_entries", "entries", () => size);
    expect(await m.text()).toContain("edge_mfa_relay_test_entries 3");
    size = 7;
    expect(await m.text()).toContain("edge_mfa_relay_test_entries 7");
  });
});

describe("RequestHandler: accounting beside authentication", () => {
  it("an Accounting-Request reusing a held Access-Request's identifier from the same port does not supersede it", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const edge: EdgeApi = {
      touch: async () => {
        await held;
        return "TOUCH_ACCEPTED";
      },
      startSmsOtp: async () => ({ code: "BAD_REQUEST" }),
      verifySmsOtp: async () => "reject",
      verifyTotp: async () => "reject",
      hasTotp: async () => false,
      hasApp: async () => false,
      verifyChallengeResponse: async () => "reject",
    };
    const log = jsonLogger("error", () => undefined);
    const cfg = config();
    const metrics = new RelayMetrics({ touchTimeoutSeconds: 30, processMetrics: false });
    const handler = new RequestHandler({
      log,
      cache: new RetransmitCache(30_000, 90_000),
      deps: {
        edge,
        firstFactor: firstFactorFrom({ type: "none" }),
        challenges: new LocalChallengeStore(60_000),
        now: Date.now,
        warn: () => undefined,
      },
      config: () => cfg,
      metrics,
      accounting: new AccountingRecorder(undefined, log),
    });
    const client = cfg.clients[0];
    if (!client) throw new Error("no client");
    const peer = { transport: "udp", address: "127.0.0.1", port: 40000 } as const;
    const sent: Buffer[] = [];
    const auth = radius.encode({
      code: "Access-Request",
      secret: "s",
      identifier: 5,
      add_message_authenticator: true,
      attributes: [
        ["User-Name", "alice"],
        ["User-Password", "x"],
      ],
    });
    const acct = radius.encode({ code: "Accounting-Request", secret: "s", identifier: 5, attributes: [["Acct-Status-Type", "Start"]] });
    const login = handler.handle(auth, peer, client, (r) => sent.push(r));
    await handler.handle(acct, peer, client, (r) => sent.push(r));
    release();
    await login;
    expect(sent.map((r) => r[0])).toEqual([5, 2]); // Accounting-Response, then the Access-Accept
    expect(await metrics.text()).toContain(
      'edge_mfa_relay_requests_total{client="vpn",transport="udp",method="accounting",result="Accounting-Response"} 1',
    );
  });
});

describe("AccountingRecorder forwarding", () => {
  const record = decodeRequest(
    radius.encode({ code: "Accounting-Request", secret: "s", identifier: 1, attributes: [["Acct-Session-Id", "u-1"]] }),
    "s",
  );
  const from = { client: "vpn", transport: "udp", nas: "127.0.0.1" };

  it("records only what the upstream acknowledged with the right secret", async () => {
    const upstream = await startUpstreamAccounting("upstream");
    const lines: string[] = [];
    const log = jsonLogger("debug", (l) => lines.push(l));
    try {
      const forward = { host: "127.0.0.1", port: upstream.port, timeoutMs: 200, retries: 0 };
      expect(await new AccountingRecorder({ ...forward, secret: "upstream" }, log).record(record, from)).toBe(true);
      expect(upstream.records.map((a) => a["Acct-Session-Id"])).toEqual(["u-1"]);
      // Our secret wrong: the upstream ignores the record; nothing is acknowledged.
      expect(await new AccountingRecorder({ ...forward, secret: "wrong" }, log).record(record, from)).toBe(false);
      expect(upstream.ignored()).toBe(1);
      expect(lines.some((l) => l.includes("accounting_not_recorded"))).toBe(true);
    } finally {
      await upstream.stop();
    }
  });

  it(`holds at most ${MAX_FORWARDS_IN_FLIGHT} forwards at once; past that a record is not acknowledged`, async () => {
    const upstream = await startUpstreamAccounting("upstream");
    upstream.setDown(true);
    const lines: string[] = [];
    const recorder = new AccountingRecorder(
      { host: "127.0.0.1", port: upstream.port, secret: "upstream", timeoutMs: 300, retries: 0 },
      jsonLogger("debug", (l) => lines.push(l)),
    );
    try {
      const all = Array.from({ length: MAX_FORWARDS_IN_FLIGHT + 1 }, () => recorder.record(record, from));
      expect(await all[MAX_FORWARDS_IN_FLIGHT]).toBe(false);
      expect(lines.filter((l) => l.includes("forwards already waiting"))).toHaveLength(1);
      await Promise.all(all);
    } finally {
      await upstream.stop();
    }
  });
});
