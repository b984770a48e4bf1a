import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELAY_API_BASE, RELAY_CALLS, TOUCH_BATCH } from "../../core/contracts/relay-api.ts";
import { startInstantEdge } from "../../bench/lib/radius-load.ts";

/**
 * The RADIUS benchmarks' instant edge (bench/lib/radius-load.ts) answers the relay's calls as
 * the contract says (a Touch, a batched Touch: one line per login) and counts the logins per
 * call the bench reports.
 */
describe("instant edge", () => {
  let edge: Awaited<ReturnType<typeof startInstantEdge>>;
  beforeAll(async () => {
    edge = await startInstantEdge();
  });
  afterAll(() => edge?.server.close());

  const post = (path: string, body: unknown) =>
    fetch(`${edge.url}${RELAY_API_BASE}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });

  it("a batched Touch gets one accepting line per login, each valid by the contract; a single Touch its answer", async () => {
    const logins = [0, 1, 2].map((k) => ({ username: `u${k}`, msisdn: `+4670123456${k}`, timeoutSeconds: 30 }));
    const before = { ...edge.edgeCalls };
    const res = await post(TOUCH_BATCH.path, { logins });
    expect(res.headers.get("content-type")).toBe(TOUCH_BATCH.contentType);
    const lines = (await res.text())
      .trimEnd()
      .split("\n")
      .map((l) => TOUCH_BATCH.line.parse(JSON.parse(l)));
    expect(lines).toEqual([0, 1, 2].map((i) => ({ i, code: "TOUCH_ACCEPTED" })));

    const single = await post(RELAY_CALLS.touch.path, logins[0]);
    expect(RELAY_CALLS.touch.answer.parse(await single.json())).toEqual({ code: "TOUCH_ACCEPTED" });
    expect(edge.edgeCalls.relay - before.relay).toBe(2);
    expect(edge.edgeCalls.relayLogins - before.relayLogins).toBe(4);
  });
});
