import { createHash } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { startFakeSmsGateway } from "../../harness/fake-sms-gateway.ts";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { LdapDirectory } from "../../relay/src/link/directory.ts";
import { parseRelayConfig } from "../../relay/src/config.ts";
import { linkIn, waitForSms } from "../support/magic-link-user.ts";
import { startSlapd, type Slapd } from "../support/slapd.ts";
import { edgeDevArgs } from "../support/dev-vars.ts";

/**
 * The relay link end to end (issue 13 items 1 and 3): real relay processes (npm run relay) dial
 * `npm run dev` over a WebSocket, and an Assisted Login endpoint whose approvers are an LDAP
 * group in a real slapd gets them from whichever relay of the site is connected. Relays are
 * killed and restarted, and a link is cut under a relay, which dials again.
 */
const API_KEY = "key-assisted-ldap-0123456789abcdef";
const GROUP = "cn=approvers,ou=groups,dc=example,dc=com";
let seq = 0;
const fresh = () => `+4676${String(Date.now() % 1e5).padStart(5, "0")}${String(seq++ % 100).padStart(2, "0")}9`.slice(0, 13);
const ALICE = fresh();
const BOB = fresh();

let gateway: Awaited<ReturnType<typeof startFakeSmsGateway>>;
let dev: DevServer;
let slapd: Slapd;
let relayConfig: (name: string, edgeUrl?: string, link?: Record<string, unknown>) => Record<string, unknown>;
const relays: RelayProcess[] = [];

/** A TCP proxy in front of the dev server whose connections the test can cut (a link dying under a relay). */
let proxy: { server: Server; url: string; sockets: Set<Socket>; freeze: () => void };

beforeAll(async () => {
  gateway = await startFakeSmsGateway();
  const key = await relayKey();
  const edgeConfig = {
    rateLimit: { perMinute: 100, perHour: 1000 },
    endpoints: [
      { name: "radius", timeoutSeconds: 30 },
      {
        name: "assisted-ldap",
        timeoutSeconds: 30,
        apiKeys: [{ name: "t", sha256: createHash("sha256").update(API_KEY).digest("hex") }],
        // cacheSeconds 0: every call asks the relays, so the test sees which are connected.
        assistedLogin: { source: "ldap", group: GROUP, site: "hq", cacheSeconds: 0 },
      },
    ],
    relays: ["link-a", "link-b", "link-c"].map((name) => ({ name, publicJwk: key.publicJwk, endpoint: "radius", site: "hq" })),
  };
  [dev, slapd] = await Promise.all([
    startDevServer(edgeDevArgs(edgeConfig, gateway.url, { SMS_TIMEOUT_MS: "1500" })),
    startSlapd(
      [
        { uid: "alice", password: "pw-alice", mobile: ALICE, displayName: "Alice Approver" },
        { uid: "bob", password: "pw-bob", mobile: `${BOB.slice(0, 3)} ${BOB.slice(3, 6)}-${BOB.slice(6)}`, displayName: "Bob Approver" },
        { uid: "nomobile", password: "pw-nomobile", displayName: "No Mobile" },
      ],
      {
        groups: [
          { cn: "approvers", kind: "groupOfNames", members: ["alice", "bob", "nomobile"] },
          { cn: "posix-approvers", kind: "posixGroup", members: ["bob", "ghost"] },
          { cn: "secret-admins", kind: "groupOfNames", members: ["alice"] },
        ],
      },
    ),
  ]);
  const devPort = Number(new URL(dev.url).port);
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = connect(devPort, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    sockets.add(client);
    pairs.add(pair);
    client.on("close", () => {
      sockets.delete(client);
      pairs.delete(pair);
    });
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  // freeze(): today's connections stay open but carry nothing more (a half-open link).
  const freeze = () => {
    for (const [client, upstream] of pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    pairs.clear();
  };
  proxy = { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, sockets, freeze };

  relayConfig = (name, edgeUrl = dev.url, link = {}) => ({
    clients: [{ name: "vpn", address: "127.0.0.1", secret: "radius-shared-secret" }],
    edge: { url: edgeUrl, relayName: name, privateKeyFile: key.privateKeyFile },
    firstFactor: {
      type: "ldap",
      url: slapd.url,
      search: { baseDn: slapd.baseDn, filter: "(uid={user})", bindDn: slapd.adminDn, bindPassword: slapd.adminPassword },
    },
    link: { enabled: true, groups: [GROUP], groupCacheSeconds: 0, ...link },
    log: { level: "debug" },
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([...relays.map((r) => r.stop("SIGKILL")), dev?.stop(), slapd?.stop()]);
  proxy?.server.close();
  gateway?.server.close();
});

async function startLinkedRelay(name: string, edgeUrl?: string, link?: Record<string, unknown>): Promise<RelayProcess> {
  const r = await startRelay(relayConfig(name, edgeUrl, link));
  relays.push(r);
  await r.waitForLog((l) => l.event === "link_connected", 30_000);
  return r;
}

/** Waits until the relay logged link_connected `n` times (it dialled in again on its own). */
async function connectedTimes(r: RelayProcess, n: number): Promise<void> {
  const until = Date.now() + 30_000;
  while (r.logs().filter((l) => l.event === "link_connected").length < n) {
    if (Date.now() > until) throw new Error(`no re-dial:\n${r.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function callAssisted(msisdn: string): Promise<string> {
  return fetch(`${dev.url}/api/sfwa/auth/assisted-ldap?msisdn=${encodeURIComponent(msisdn)}`, { headers: { "api-key": API_KEY } })
    .then((r) => r.json())
    .then((j) => (j as { code: string }).code);
}

const form = (link: string, body: Record<string, string>, path = "") =>
  fetch(`${link}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(link).origin },
    body: new URLSearchParams(body),
  });

/** The user accepts on their SMS link; returns the approver buttons and a way to pick one. */
async function userAccepts(msisdn: string) {
  const link = linkIn(await waitForSms(gateway.requests, msisdn));
  const csrf = (await (await fetch(link)).text()).match(/name="csrf" value="([^"]+)"/)?.[1] ?? "";
  const html = await (await form(link, { decision: "accept", csrf })).text();
  const buttons = [...html.matchAll(/name="approver" value="([^"]*)"[^>]*>([^<]*)</g)].map((m) => ({ id: m[1] ?? "", name: m[2] ?? "" }));
  return { buttons, pick: (id: string) => form(link, { csrf, approver: id }, "/approver") };
}

async function approverAccepts(msisdn: string, after: number) {
  const link = linkIn(await waitForSms(gateway.requests, msisdn, 15_000, after));
  const csrf = (await (await fetch(link)).text()).match(/name="csrf" value="([^"]+)"/)?.[1] ?? "";
  expect((await form(link, { decision: "accept", csrf })).status).toBe(200);
}

/** One full Assisted Login whose approvers come from the LDAP group; the approver picked is Bob. */
async function signInApprovedByBob(): Promise<void> {
  const user = fresh();
  const pending = callAssisted(user);
  const { buttons, pick } = await userAccepts(user);
  // nomobile is in the group but has no number: not offered. Bob's number had spaces and a dash.
  expect(buttons.map((b) => b.name).sort()).toEqual(["Alice Approver", "Bob Approver"]);
  const bob = buttons.find((b) => b.name === "Bob Approver");
  const since = Date.now();
  expect((await pick(bob?.id ?? "")).status).toBe(200);
  await approverAccepts(BOB, since);
  expect(await pending).toBe("TOUCH_ACCEPTED");
}

describe("relay link with a real relay and npm run dev", () => {
  it("approvers from an LDAP group, resolved by the site's relay over the link, end to end", async () => {
    const a = await startLinkedRelay("link-a");
    await signInApprovedByBob();
    await a.waitForLog((l) => l.event === "link_request" && l.op === "group.members");
  });

  it("either relay of the site answers; with both killed the call fails at once; a restarted relay dials in and answers", async () => {
    const b = await startLinkedRelay("link-b");
    const a = relays[0];
    if (!a) throw new Error("relay link-a missing");
    // link-a dies without closing its socket: link-b answers.
    await a.stop("SIGKILL");
    await signInApprovedByBob();
    await b.waitForLog((l) => l.event === "link_request" && l.op === "group.members");

    await b.stop("SIGKILL");
    const nobody = fresh();
    const started = Date.now();
    expect(await callAssisted(nobody)).toBe("FAILED_DELIVERY");
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(gateway.requests.filter((r) => r.to === nobody)).toEqual([]);

    await startLinkedRelay("link-a");
    await signInApprovedByBob();
  });

  it("a link cut under a running relay is dialled again with back-off, and answers again", async () => {
    const c = await startLinkedRelay("link-c", proxy.url);
    for (const s of proxy.sockets) s.destroy();
    await c.waitForLog((l) => l.event === "link_redial", 15_000);
    await connectedTimes(c, 2);
    await signInApprovedByBob();
    // SIGTERM closes the link cleanly.
    expect(await c.stop("SIGTERM")).toBe(0);
  });

  it("a half-open link (nothing comes back, nothing closes) is noticed by the keepalive and re-dialled", async () => {
    const c = await startLinkedRelay("link-c", proxy.url, { keepaliveSeconds: 1 });
    proxy.freeze();
    await c.waitForLog((l) => l.event === "link_pong_missing", 15_000);
    await connectedTimes(c, 2);
    await signInApprovedByBob();
    await c.stop("SIGKILL");
  });
});

describe("the relay's LDAP directory (against slapd)", () => {
  const dir = () => {
    const cfg = parseRelayConfig({ ...relayConfig("x"), users: { alice: { msisdn: "+46709999999" } } });
    if (cfg.firstFactor.type !== "ldap" || !cfg.firstFactor.search) throw new Error("ldap config expected");
    return new LdapDirectory({ ...cfg.firstFactor, search: cfg.firstFactor.search }, cfg);
  };

  it("finds a user with display name and number; the relay's users entry wins for the number", async () => {
    expect(await dir().user("bob")).toEqual({ username: "bob", displayName: "Bob Approver", msisdn: BOB });
    expect(await dir().user("alice")).toEqual({ username: "alice", displayName: "Alice Approver", msisdn: "+46709999999" });
    expect(await dir().user("nomobile")).toEqual({ username: "nomobile", displayName: "No Mobile" });
    expect(await dir().user("nobody")).toBeNull();
    expect(await dir().user("*")).toBeNull(); // escaped: no wildcard match
  });

  it("reads groupOfNames members and posixGroup memberUids, skipping members without a number or entry", async () => {
    const names = await dir().groupMembers(GROUP);
    expect(names.members.map((m) => m.username).sort()).toEqual(["alice", "bob"]);
    expect(names.skipped).toBe(1);
    const posix = await dir().groupMembers("cn=posix-approvers,ou=groups,dc=example,dc=com");
    expect(posix.members).toEqual([{ username: "bob", displayName: "Bob Approver", msisdn: BOB }]);
    await expect(dir().groupMembers("cn=missing,ou=groups,dc=example,dc=com")).rejects.toThrow();
  });
});
