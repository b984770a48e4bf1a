import { EDGE_STATE_BYTES } from "../../core/contracts/relay-challenge.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { startFakeSmsGateway } from "../../harness/fake-sms-gateway.ts";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { answerLink, linkIn, waitForSms } from "../support/magic-link-user.ts";
import { SIGNED, radclient } from "../support/radclient.ts";
import { startRadsecproxy, type Radsecproxy } from "../support/radsecproxy.ts";
import { makeTestPki, type TestPki } from "../support/tls-certs.ts";
import { edgeDevArgs } from "../support/dev-vars.ts";

/**
 * RadSec end to end with a real RadSec client: FreeRADIUS's radclient -> Debian's radsecproxy
 * (UDP in, TLS out with a client certificate) -> the relay as installed (its RadSec listener)
 * -> `npm run dev` -> the SMS gateway fake. Then radsecproxies the relay must refuse: a
 * certificate from another CA, and the right name with a key other than the pinned one.
 */
const TOUCH_USER = `+4673${String(Date.now() % 1e6).padStart(6, "0")}19`.slice(0, 14);
const SMS_NUMBER = "+46702250019";

let gateway: Awaited<ReturnType<typeof startFakeSmsGateway>>;
let dev: DevServer;
let relay: RelayProcess;
let pki: TestPki;
let proxy: Radsecproxy;
let radsecPort: number;
const stoppable: Array<{ stop: () => Promise<unknown> }> = [];

beforeAll(async () => {
  gateway = await startFakeSmsGateway();
  const key = await relayKey();
  const edgeConfig = {
    rateLimit: { perMinute: 100, perHour: 1000 },
    endpoints: [{ name: "radius", timeoutSeconds: 30, texts: { title: "VPN login" } }],
    relays: [{ name: "radsec-relay", publicJwk: key.publicJwk, endpoint: "radius" }],
  };
  dev = await startDevServer(edgeDevArgs(edgeConfig, gateway.url));
  stoppable.push(dev);
  pki = makeTestPki();
  const proxyCert = pki.client("radsecproxy.example.test");
  radsecPort = await freePort();
  relay = await startRelay({
    // UDP stays on for loopback, unused here: RadSec is what is tested.
    clients: [{ name: "udp-nas", address: "127.0.0.1", secret: "unused-udp-secret" }],
    edge: { url: dev.url, relayName: "radsec-relay", privateKeyFile: key.privateKeyFile },
    firstFactor: { type: "none" },
    touchTimeoutSeconds: 20,
    usernameAsMsisdn: true,
    users: { [TOUCH_USER]: {}, "sms-user": { msisdn: SMS_NUMBER, secondFactor: "sms" } },
    log: { level: "debug" },
    radsec: {
      listen: { host: "127.0.0.1", port: radsecPort },
      certFile: pki.server.cert,
      keyFile: pki.server.key,
      caFile: pki.caFile,
      clients: [
        { name: "proxy", certName: "radsecproxy.example.test" },
        // Pinned to the proxy's key: another certificate with this name is refused.
        { name: "pinned-nas", certName: "pinned.example.test", certFingerprintSha256: proxyCert.fingerprint },
      ],
    },
  });
  stoppable.push(relay);
  await relay.waitForLog((l) => l.event === "listening" && l.transport === "radsec");
  proxy = await startRadsecproxy({ relayPort: radsecPort, caFile: pki.caFile, cert: proxyCert });
  stoppable.push(proxy);
}, 180_000);

afterAll(async () => {
  await Promise.all(stoppable.map((s) => s.stop()));
  gateway?.server.close();
});

describe("radclient -> radsecproxy -> relay over TLS -> edge", () => {
  it("Touch: the user accepts the magic link, Access-Accept comes back through radsecproxy", async () => {
    const pending = radclient(proxy.target, proxy.udpSecret, [`User-Name = "${TOUCH_USER}"`, 'User-Password = "x"', SIGNED], {
      timeoutSeconds: 30,
    });
    const text = await waitForSms(gateway.requests, TOUCH_USER, 30_000);
    // Past radsecproxy's default 10 s request timeout: the documented RetryInterval keeps it waiting.
    await new Promise((r) => setTimeout(r, 11_000));
    expect(await answerLink(linkIn(text), "accept")).toBe(200);
    const r = await pending;
    expect(r.code, r.output).toBe("Access-Accept");
    const auth = await relay.waitForLog((l) => l.event === "auth" && l.user === TOUCH_USER);
    expect(auth).toMatchObject({ transport: "radsec", client: "proxy", result: "Access-Accept", method: "touch" });
    expect(relay.logs().find((l) => l.event === "connection_accepted")).toMatchObject({
      client: "proxy",
      subject: "CN=radsecproxy.example.test",
    });
  });

  it("SMS OTP: Access-Challenge with State through radsecproxy, the code with that State is accepted once", async () => {
    const since = Date.now();
    const first = await radclient(proxy.target, proxy.udpSecret, ['User-Name = "sms-user"', 'User-Password = "x"', SIGNED]);
    expect(first.code, first.output).toBe("Access-Challenge");
    expect(first.state).toMatch(new RegExp(`^0x[0-9a-f]{${EDGE_STATE_BYTES * 2}}$`)); // the edge's State: either relay of the site answers it
    const code = (await waitForSms(gateway.requests, SMS_NUMBER, 15_000, since - 1000)).match(/\d{6}/)?.[0];
    const answer = ['User-Name = "sms-user"', `User-Password = "${code}"`, SIGNED, `State = ${first.state}`];
    expect((await radclient(proxy.target, proxy.udpSecret, answer)).code).toBe("Access-Accept");
    expect((await radclient(proxy.target, proxy.udpSecret, answer)).code).toBe("Access-Reject"); // State is single use
  });
});

describe("refused RadSec clients: nothing answered, one log line per refused connection", () => {
  async function refusedProxy(cert: ReturnType<TestPki["client"]>, reason: string, user: string) {
    const seen = relay.logs().length;
    // Lines the relay logged before this started may still be on their way (it writes them in
    // batches): only what it logged from now on counts.
    const started = Date.now();
    const rogue = await startRadsecproxy({ relayPort: radsecPort, caFile: pki.caFile, cert });
    stoppable.push(rogue);
    const r = await radclient(rogue.target, rogue.udpSecret, [`User-Name = "${user}"`, 'User-Password = "x"', SIGNED], {
      timeoutSeconds: 3,
      retries: 1,
    });
    expect(r.code).toBeNull();
    await relay.waitForLog((l) => l.event === "connection_refused" && l.reason === reason);
    const fresh = relay
      .logs()
      .slice(seen)
      .filter((l) => Date.parse(String(l.time)) >= started);
    const refusals = fresh.filter((l) => l.event === "connection_refused");
    expect(refusals.length).toBeGreaterThanOrEqual(1); // radsecproxy reconnects: one line each time
    expect(refusals.every((l) => l.reason === reason && l.transport === "radsec")).toBe(true);
    expect(fresh.filter((l) => l.event === "auth" || l.event === "connection_accepted")).toEqual([]);
    expect(gateway.requests.filter((q) => q.to === user)).toEqual([]);
    await rogue.stop();
    return refusals;
  }

  it("a client certificate from another CA (same name) is refused in the handshake", async () => {
    const [line] = await refusedProxy(pki.rogueClient("radsecproxy.example.test"), "certificate_refused", "sms-user");
    expect(line?.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });

  it("a certificate of the right CA and name but not the pinned key is refused (pin_mismatch)", async () => {
    const other = pki.client("pinned.example.test");
    const [line] = await refusedProxy(other, "pin_mismatch", "sms-user");
    expect(line).toMatchObject({ client: "pinned-nas", fingerprint: other.fingerprint.toUpperCase().match(/../g)?.join(":") });
  });
});

describe("operations", () => {
  it("SIGTERM with radsecproxy's connection open: the relay closes it and exits 0", async () => {
    expect(relay.logs().some((l) => l.event === "connection_accepted" && l.client === "proxy")).toBe(true);
    expect(await relay.stop("SIGTERM")).toBe(0);
    expect(relay.logs().map((l) => l.event)).toEqual(expect.arrayContaining(["signal", "shutting_down", "stopped"]));
  });

  it("logs carry no passwords, codes or State", () => {
    const text = relay.output();
    expect(text).toContain('"transport":"radsec"');
    expect(text).not.toMatch(/"password"|"state"/i);
  });
});
