import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { mintRelayToken } from "../../core/contracts/relay-token";
import { RELAY_LINK_PATH } from "../../core/contracts/relay-link";
import { askRelay, RelayLinkError } from "../../workers/domain/relay-link";
import { EDGE, connectFakeRelay, upgradeLink, type Behaviour } from "./support/fake-relay";

/**
 * The relay link's edge side (issue 13 item 1): relays connect over a real WebSocket upgrade
 * through the Worker's route (token checked, single use) into their site's RelayLink object;
 * askRelay picks one, fails over, times out, and drops answers nobody asked for.
 */
let key: CryptoKey;
let otherKey: CryptoKey;
let baseConfig: Record<string, unknown>;
let testEnv: Env;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  otherKey = (await generateKeyPair("ES256")).privateKey;
  const publicJwk = await exportJWK(pair.publicKey);
  baseConfig = JSON.parse(env.MFA_CONFIG);
  // Sites are named per test so the objects do not share sockets across tests.
  baseConfig.relays = ["a", "b", "c", "d", "e", "f", "g", "h"].flatMap((site) => [
    { name: `${site}1`, publicJwk, endpoint: "other", site: `site-${site}` },
    { name: `${site}2`, publicJwk, endpoint: "other", site: `site-${site}` },
  ]);
  testEnv = envWith(baseConfig);
});

function envWith(config: Record<string, unknown>): Env {
  return { ...env, MFA_CONFIG: JSON.stringify(config) } as Env;
}

const upgrade = (headers: Record<string, string>) => upgradeLink(testEnv, headers);
const connect = (name: string, behave: Behaviour) => connectFakeRelay(testEnv, key, name, behave);

/** Answers user.lookup with its own name as the display name, so the test sees who answered. */
const answersAs =
  (name: string): Behaviour =>
  (_req, reply) =>
    reply({ ok: true, result: { found: true, msisdn: "+46701234567", displayName: name } });
const silent: Behaviour = () => {};

const lookup = (site: string, opts?: { timeoutMs?: number }, e: Env = testEnv) =>
  askRelay(e, site, "user.lookup", { username: "Alice" }, opts);

async function linkError(p: Promise<unknown>): Promise<RelayLinkError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RelayLinkError) return e;
    throw e;
  }
  throw new Error("expected a RelayLinkError");
}

describe("relay link: asking the site's relays", () => {
  it("either of two connected relays answers, with a validated result and normalised arguments", async () => {
    const r1 = await connect("a1", answersAs("a1"));
    const r2 = await connect("a2", answersAs("a2"));
    const answeredBy = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const res = await lookup("site-a");
      expect(res).toMatchObject({ found: true, msisdn: "+46701234567" });
      answeredBy.add(res.displayName ?? "");
    }
    expect(answeredBy).toEqual(new Set(["a1", "a2"]));
    // The contract's transform ran before sending: the relay got the normalised username.
    expect([...r1.asked, ...r2.asked].every((f) => (f.args as { username: string }).username === "alice")).toBe(true);
    expect(r1.asked.length + r2.asked.length).toBe(24);
    r1.ws.close(1000);
    r2.ws.close(1000);
  });

  it("when one relay drops, the other answers every question", async () => {
    const r1 = await connect("b1", answersAs("b1"));
    const r2 = await connect("b2", answersAs("b2"));
    r1.ws.close(1000, "bye");
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 8; i++) expect((await lookup("site-b")).displayName).toBe("b2");
    r2.ws.close(1000);
  });

  it("a relay whose link closes mid-request: a lookup moves to the other relay, a password change fails", async () => {
    const dying: Behaviour = (_req, _reply, ws) => ws.close(1001, "going away");
    const r1 = await connect("c1", dying);
    await connect("c2", answersAs("c2"));
    // Until c1 has been asked (and died on it), every lookup ends answered by c2.
    for (let i = 0; i < 40 && r1.asked.length === 0; i++) expect((await lookup("site-c")).displayName).toBe("c2");
    expect(r1.asked).toHaveLength(1);
    await r1.closed;
    // A password change is never sent twice: reconnect c1 dying, and make it the only relay.
    const c1 = await connect("c1", dying);
    const onlyC1 = envWith({ ...baseConfig, relays: (baseConfig.relays as Array<{ name: string }>).filter((r) => r.name !== "c2") });
    const err = await linkError(askRelay(onlyC1, "site-c", "password.change", { username: "alice", jwe: "x.y.z" }));
    expect(err.code).toBe("relay_error");
    expect(c1.asked.map((f) => f.op)).toEqual(["password.change"]);
  });

  it("no relay connected: no_relay at once; none configured for the site: no_relay too", async () => {
    const started = Date.now();
    expect((await linkError(lookup("site-d", { timeoutMs: 20_000 }))).code).toBe("no_relay");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await linkError(lookup("nowhere"))).code).toBe("no_relay");
  });

  it("a connected relay that never answers: timeout", async () => {
    const r = await connect("e1", silent);
    expect((await linkError(lookup("site-e", { timeoutMs: 300 }))).code).toBe("timeout");
    expect(r.asked).toHaveLength(1);
    r.ws.close(1000);
  });

  it("an answer to an id the relay was not asked is ignored; the asked relay's answer counts", async () => {
    const sockets = new Map<string, WebSocket>();
    const honestButSlow =
      (self: string, other: string): Behaviour =>
      (req, reply) => {
        // The other connected relay learns the id and answers first with a result of its own.
        sockets
          .get(other)
          ?.send(JSON.stringify({ type: "response", id: req.id, ok: true, result: { found: true, displayName: "forged" } }));
        setTimeout(() => reply({ ok: true, result: { found: true, displayName: self } }), 100);
      };
    const f1 = await connect("f1", honestButSlow("f1", "f2"));
    const f2 = await connect("f2", honestButSlow("f2", "f1"));
    sockets.set("f1", f1.ws).set("f2", f2.ws);
    for (let i = 0; i < 4; i++) expect(["f1", "f2"]).toContain((await lookup("site-f")).displayName);
    expect(f1.asked.length + f2.asked.length).toBe(4);

    // A relay no longer configured for the site is disconnected by the next question.
    const onlyF1 = envWith({ ...baseConfig, relays: (baseConfig.relays as Array<{ name: string }>).filter((r) => r.name !== "f2") });
    sockets.clear();
    expect((await lookup("site-f", {}, onlyF1)).displayName).toBe("f1");
    expect(await f2.closed).toBe(4000);
    f1.ws.close(1000);
  });

  it("the relay's error codes pass through; an answer off the contract and malformed frames are relay_error / ignored", async () => {
    let mode: "unsupported" | "bad" | "garbage" = "unsupported";
    const r = await connect("h1", (req, reply, ws) => {
      if (mode === "unsupported") reply({ ok: false, error: { code: "unsupported", message: "no handler" } });
      else if (mode === "bad") reply({ ok: true, result: { found: "yes" } });
      else {
        ws.send("not json");
        ws.send(JSON.stringify({ type: "response", id: req.id, ok: "maybe" }));
        ws.send(new Uint8Array([1, 2, 3]));
      }
    });
    expect((await linkError(lookup("site-h"))).code).toBe("unsupported");
    mode = "bad";
    expect((await linkError(lookup("site-h"))).code).toBe("relay_error");
    mode = "garbage";
    expect((await linkError(lookup("site-h", { timeoutMs: 300 }))).code).toBe("timeout");
    // The link survived the garbage.
    mode = "unsupported";
    expect((await linkError(lookup("site-h"))).code).toBe("unsupported");
    // Arguments that do not fit the op never leave the edge.
    expect((await linkError(askRelay(testEnv, "site-h", "user.lookup", { username: "   " }))).code).toBe("bad_request");
    expect(r.asked).toHaveLength(4);
    r.ws.close(1000);
  });

  it("the keepalive ping is answered pong by the link object", async () => {
    const r = await connect("h2", silent);
    const pong = new Promise<string>((resolve) => r.ws.addEventListener("message", (e) => resolve(String(e.data))));
    r.ws.send("ping");
    expect(await pong).toBe("pong");
    r.ws.close(1000);
  });

  it("a relay dialling again replaces its old socket", async () => {
    const old = await connect("d1", answersAs("old"));
    await connect("d1", answersAs("new"));
    expect(await old.closed).toBe(4000);
    expect((await lookup("site-d")).displayName).toBe("new");
  });
});

describe("relay link: the upgrade", () => {
  const path = RELAY_LINK_PATH;
  it("refuses no token, a foreign key, a token for POST or another path, and a replayed token", async () => {
    expect((await upgrade({ upgrade: "websocket" })).status).toBe(401);
    const foreign = await mintRelayToken(otherKey, "a1", EDGE, "GET", path, "");
    expect((await upgrade({ upgrade: "websocket", authorization: `Bearer ${foreign}` })).status).toBe(401);
    const post = await mintRelayToken(key, "a1", EDGE, "POST", path, "");
    expect((await upgrade({ upgrade: "websocket", authorization: `Bearer ${post}` })).status).toBe(401);
    const otherPath = await mintRelayToken(key, "a1", EDGE, "GET", "/api/relay/v1/touch", "");
    expect((await upgrade({ upgrade: "websocket", authorization: `Bearer ${otherPath}` })).status).toBe(401);
    const unknown = await mintRelayToken(key, "zz", EDGE, "GET", path, "");
    expect((await upgrade({ upgrade: "websocket", authorization: `Bearer ${unknown}` })).status).toBe(401);

    const once = await mintRelayToken(key, "a1", EDGE, "GET", path, "");
    const first = await upgrade({ upgrade: "websocket", authorization: `Bearer ${once}` });
    expect(first.status).toBe(101);
    first.webSocket?.accept();
    const again = await upgrade({ upgrade: "websocket", authorization: `Bearer ${once}` });
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ reason: "replayed token" });
    first.webSocket?.close(1000);
  });

  it("a valid token without an upgrade gets 426 and opens nothing", async () => {
    const token = await mintRelayToken(key, "a1", EDGE, "GET", path, "");
    const res = await upgrade({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(426);
    expect(res.webSocket).toBeNull();
  });
});
