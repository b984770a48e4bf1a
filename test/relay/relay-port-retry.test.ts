import { createSocket, type Socket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeUdpPort, RELAY_PORT_TRIES, relayKey, startRelay } from "../../harness/relay-process.ts";

/**
 * The harness's relay start (harness/relay-process.ts): a port picked free can be taken by
 * another test's UDP socket before the relay binds it (a CI run failed so). The relay is then
 * started again on another port; other failures are not retried.
 */
let held: Socket;
let heldPort: number;
let config: Record<string, unknown>;

beforeAll(async () => {
  held = createSocket("udp4");
  await new Promise<void>((r) => held.bind(0, "127.0.0.1", () => r()));
  heldPort = held.address().port;
  const key = await relayKey();
  config = {
    clients: [{ name: "vpn", address: "127.0.0.0/8", secret: "port-retry-secret" }],
    edge: { url: "http://127.0.0.1:9", relayName: "port-retry", privateKeyFile: key.privateKeyFile },
    firstFactor: { type: "none" },
    users: {},
  };
});

afterAll(() => held?.close());

/** Gives the held port `times` times, then free ones; counts the picks. */
function picker(times: number) {
  const picks: number[] = [];
  const pick = async () => {
    const port = picks.length < times ? heldPort : await freeUdpPort();
    picks.push(port);
    return port;
  };
  return { pick, picks };
}

describe("starting the relay on a port taken meanwhile", () => {
  it("starts it again on another port", async () => {
    const { pick, picks } = picker(1);
    const relay = await startRelay(config, [], { pickPort: pick });
    try {
      expect(picks[0]).toBe(heldPort);
      expect(picks).toHaveLength(2);
      expect(relay.port).toBe(picks[1]);
      expect(relay.logs().find((l) => l.event === "listening")?.port).toBe(relay.port);
    } finally {
      await relay.stop();
    }
  }, 30_000);

  it("gives up after RELAY_PORT_TRIES taken ports, with the relay's error", async () => {
    const { pick, picks } = picker(Number.POSITIVE_INFINITY);
    await expect(startRelay(config, [], { pickPort: pick })).rejects.toThrow(`EADDRINUSE 127.0.0.1:${heldPort}`);
    expect(picks).toHaveLength(RELAY_PORT_TRIES);
  }, 30_000);

  it("does not retry a failure that is not the port", async () => {
    const { pick, picks } = picker(0);
    await expect(startRelay({ ...config, firstFactor: { type: "nonsense" } }, [], { pickPort: pick })).rejects.toThrow(
      /relay exited \(\d+\)/,
    );
    expect(picks).toHaveLength(1);
  }, 30_000);
});
