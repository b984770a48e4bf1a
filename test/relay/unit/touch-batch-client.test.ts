import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair, jwtVerify, type CryptoKey as JoseKey } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { RELAY_API_BASE, TOUCH_BATCH, TOUCH_BATCH_MAX_LOGINS } from "../../../core/contracts/relay-api.ts";
import { RELAY_TOKEN_CLAIMS, RELAY_TOKEN_MAX_AGE_SECONDS } from "../../../core/contracts/relay-token.ts";
import { TOUCH_ANSWER_SLACK_MS, USERNAME_MAX } from "../../../core/contracts/relay.ts";
import { sha256Hex } from "../../../core/tokens.ts";
import { EdgeClient, EdgeRejectedError, EdgeUnavailableError, type EdgeCallOutcome } from "../../../relay/src/edge-client.ts";
import { MAX_EDGE_ANSWER_BYTES, MAX_EDGE_LINE_BYTES } from "../../../relay/src/edge-http.ts";
import { readTouchBatchLine } from "../../../relay/src/edge-response.ts";
import { RelayTokenSigner } from "../../../relay/src/relay-token-signer.ts";

/**
 * The relay's batched Touch (relay/src/edge-client.ts, touch-batcher.ts, touch-batch-answers.ts,
 * edge-http.ts streamFromEdge) against a real local HTTP server playing the edge: the logins of
 * one round in one signed call, each settled the moment its NDJSON line arrives, every way the
 * answer can go wrong failing closed, and the fallback to single calls for an edge without the
 * batch route.
 */
const BATCH = `${RELAY_API_BASE}${TOUCH_BATCH.path}`;
const SINGLE = `${RELAY_API_BASE}/touch`;
const NDJSON = { "content-type": "application/x-ndjson" };

interface Arrival {
  path: string;
  auth: string;
  body: string;
  req: IncomingMessage;
  res: ServerResponse;
  /** Whether the relay dropped the request before the answer was complete. */
  closedEarly: () => boolean;
}

describe("batched Touch: the relay side", () => {
  let server: Server;
  let origin: string;
  let publicKey: JoseKey;
  let privateKey: JoseKey;
  /** Every request, in order of arrival; `handle` answers it (by default: left to the test). */
  const arrivals: Arrival[] = [];
  const waiters: Array<() => void> = [];
  let handle: (a: Arrival) => void = () => undefined;

  beforeAll(async () => {
    ({ publicKey, privateKey } = await generateKeyPair("ES256"));
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d: string) => (body += d));
      req.on("end", () => {
        let closed = false;
        res.on("close", () => (closed = !res.writableFinished));
        const a: Arrival = { path: req.url ?? "", auth: req.headers.authorization ?? "", body, req, res, closedEarly: () => closed };
        arrivals.push(a);
        handle(a);
        for (const w of waiters.splice(0)) w();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    arrivals.length = 0;
    handle = () => undefined;
    vi.restoreAllMocks();
    vi.useRealTimers();
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  /** Resolves once `n` requests have arrived in all. */
  const arrived = async (n: number): Promise<Arrival[]> => {
    while (arrivals.length < n) await new Promise<void>((r) => waiters.push(r));
    return arrivals.slice(0, n);
  };
  const calls: Array<{ call: string; outcome: EdgeCallOutcome }> = [];
  const perCall: number[] = [];
  const client = (touchBatchMax?: number) => {
    calls.length = 0;
    perCall.length = 0;
    return new EdgeClient({
      url: `${origin}/`,
      relayName: "r1",
      key: privateKey,
      timeoutMs: 2000,
      touchBatchMax,
      observe: (call, _s, outcome) => calls.push({ call, outcome }),
      observeLoginsPerCall: (n) => perCall.push(n),
    });
  };
  const who = (k: number) => ({ username: `user${k}`, msisdn: `+4670123456${k}` });
  /** Logins 0..n-1 asked in one round; `settled` says which have their answer yet. */
  const touches = (edge: EdgeClient, n: number, timeoutSeconds = 30) => {
    const settled = new Array<boolean>(n).fill(false);
    const answers = Array.from({ length: n }, (_, k) => edge.touch(who(k), timeoutSeconds));
    const results = Promise.allSettled(answers.map((p, k) => p.finally(() => (settled[k] = true))));
    return { answers, results, settled };
  };
  const line = (a: Arrival, value: unknown) => a.res.write(`${typeof value === "string" ? value : JSON.stringify(value)}\n`);
  const rejected = (reason: unknown) => ({ status: "rejected", reason });
  const settleLoop = () => new Promise((r) => setTimeout(r, 50));

  async function verified(a: Arrival): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(a.auth.replace(/^Bearer /, ""), publicKey, {
        algorithms: ["ES256"],
        issuer: "r1",
        audience: origin,
        maxTokenAge: RELAY_TOKEN_MAX_AGE_SECONDS,
        requiredClaims: [...RELAY_TOKEN_CLAIMS],
      });
      return payload.htm === "POST" && payload.htu === a.path && payload.bh === (await sha256Hex(a.body));
    } catch {
      return false;
    }
  }

  it("sends one round's logins as one call with one token bound to the exact body", async () => {
    const edge = client();
    const { results } = touches(edge, 3);
    const [a] = (await arrived(1)) as [Arrival];
    expect(a.path).toBe(BATCH);
    expect(JSON.parse(a.body)).toEqual({ logins: [0, 1, 2].map((k) => ({ ...who(k), timeoutSeconds: 30 })) });
    expect(TOUCH_BATCH.request.safeParse(JSON.parse(a.body)).success).toBe(true);
    expect(await verified(a)).toBe(true);
    // The token binds this body only: another body (one login dropped) does not verify with it.
    expect(await verified({ ...a, body: JSON.stringify({ logins: JSON.parse(a.body).logins.slice(1) }) })).toBe(false);
    a.res.writeHead(200, NDJSON);
    for (const i of [2, 0, 1]) line(a, { i, code: "TOUCH_ACCEPTED" });
    a.res.end();
    expect((await results).map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    expect(arrivals).toHaveLength(1);
    expect(perCall).toEqual([3]);
    expect(calls).toEqual(Array.from({ length: 3 }, () => ({ call: "touch", outcome: "ok" })));
  });

  it("settles each login the moment its line arrives, out of order", async () => {
    const { answers, results, settled } = touches(client(), 2);
    const [a] = (await arrived(1)) as [Arrival];
    a.res.writeHead(200, NDJSON);
    line(a, { i: 1, code: "TOUCH_REJECTED" });
    // Login 1 has its answer while login 0's line has not been written.
    expect(await answers[1]).toBe("TOUCH_REJECTED");
    expect(settled).toEqual([false, true]);
    line(a, { i: 0, code: "TOUCH_ACCEPTED", reason: "as the user decided" });
    expect(await answers[0]).toBe("TOUCH_ACCEPTED");
    a.res.end();
    await results;
    await settleLoop();
    expect(a.closedEarly()).toBe(false);
  });

  it("a batch answered in full keeps its connection for the next call", async () => {
    const edge = client();
    const full = (a: Arrival) => a.res.writeHead(200, NDJSON).end('{"i":1,"code":"TOUCH_ACCEPTED"}\n{"i":0,"code":"TOUCH_ACCEPTED"}\n');
    handle = (a) => {
      // The lines first, the end a moment later: the relay waits for it rather than drop the request.
      a.res.writeHead(200, NDJSON).write('{"i":1,"code":"TOUCH_ACCEPTED"}\n{"i":0,"code":"TOUCH_ACCEPTED"}\n');
      setTimeout(() => a.res.end(), 100);
    };
    await touches(edge, 2).results;
    await new Promise((r) => setTimeout(r, 200));
    handle = full;
    await touches(edge, 2).results;
    const [first, second] = arrivals as [Arrival, Arrival];
    expect(first.closedEarly()).toBe(false);
    expect(second.req.socket).toBe(first.req.socket);
  });

  it("every line in but the answer never ends: the request is dropped after a grace", async () => {
    handle = (a) => a.res.writeHead(200, NDJSON).write('{"i":1,"code":"TOUCH_ACCEPTED"}\n{"i":0,"code":"TOUCH_ACCEPTED"}\n');
    expect((await touches(client(), 2).results).map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    const [a] = arrivals as [Arrival];
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.closedEarly()).toBe(true);
  });

  it("reads a login's own refusal as the same answer to a single Touch", async () => {
    const { results } = touches(client(), 3);
    const [a] = (await arrived(1)) as [Arrival];
    a.res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8" });
    line(a, { i: 0, error: "number_changed" });
    line(a, { i: 1, error: "edge_unavailable" });
    line(a, { i: 2, error: "refused" });
    a.res.end();
    const [changed, unavailable, refused] = await results;
    expect(changed).toMatchObject(rejected({ name: "EdgeRejectedError", code: "number_changed" }));
    expect((unavailable as PromiseRejectedResult).reason).toBeInstanceOf(EdgeUnavailableError);
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(EdgeRejectedError);
    expect((refused as PromiseRejectedResult).reason.code).not.toBe("number_changed");
    expect(calls.map((c) => c.outcome)).toEqual(["refused", "unavailable", "refused"]);
  });

  const brokenLines: Array<[string, string]> = [
    ["a line that is not JSON", "{not json"],
    ["a line that does not validate (unknown code)", JSON.stringify({ i: 1, code: "TOUCH_ACCEPTED_MAYBE" })],
    ["a line with an extra error it does not know", JSON.stringify({ i: 1, error: "accepted" })],
    ["an i past the call's logins", JSON.stringify({ i: 2, code: "TOUCH_ACCEPTED" })],
    ["an i past any call's logins", JSON.stringify({ i: TOUCH_BATCH_MAX_LOGINS, code: "TOUCH_ACCEPTED" })],
    ["a negative i", JSON.stringify({ i: -1, code: "TOUCH_ACCEPTED" })],
    ["a login answered twice", JSON.stringify({ i: 0, code: "TOUCH_ACCEPTED" })],
  ];
  for (const [what, bad] of brokenLines) {
    it(`${what}: every login still waiting is rejected, the request dropped`, async () => {
      const { results } = touches(client(), 2);
      const [a] = (await arrived(1)) as [Arrival];
      a.res.writeHead(200, NDJSON);
      line(a, { i: 0, code: "TOUCH_REJECTED" });
      line(a, bad);
      // Even a good line after the broken one is not taken.
      line(a, { i: 1, code: "TOUCH_ACCEPTED" });
      const [first, second] = await results;
      expect(first).toEqual({ status: "fulfilled", value: "TOUCH_REJECTED" });
      expect((second as PromiseRejectedResult).reason).toBeInstanceOf(EdgeRejectedError);
      await settleLoop();
      expect(a.closedEarly()).toBe(true);
    });
  }

  it("an answer that ends with a login unanswered rejects it (the edge broke its promise)", async () => {
    const { results } = touches(client(), 2);
    const [a] = (await arrived(1)) as [Arrival];
    a.res.writeHead(200, NDJSON);
    line(a, { i: 1, code: "TOUCH_ACCEPTED" });
    a.res.end();
    const [first, second] = await results;
    expect((first as PromiseRejectedResult).reason).toBeInstanceOf(EdgeRejectedError);
    expect(second).toEqual({ status: "fulfilled", value: "TOUCH_ACCEPTED" });
  });

  it("takes a last line without its newline", async () => {
    const { results } = touches(client(), 2);
    const [a] = (await arrived(1)) as [Arrival];
    a.res
      .writeHead(200, NDJSON)
      .end(`${JSON.stringify({ i: 1, code: "TOUCH_ACCEPTED" })}\n${JSON.stringify({ i: 0, code: "TOUCH_REJECTED" })}`);
    expect((await results).map((r) => (r as PromiseFulfilledResult<string>).value)).toEqual(["TOUCH_REJECTED", "TOUCH_ACCEPTED"]);
  });

  it("a line split across chunks (inside a character) is read whole", async () => {
    const { results } = touches(client(), 2);
    const [a] = (await arrived(1)) as [Arrival];
    a.res.writeHead(200, NDJSON);
    const bytes = Buffer.from(`${JSON.stringify({ i: 0, code: "TOUCH_ACCEPTED", reason: "godkänd ✓" })}\n`);
    const cut = bytes.indexOf(Buffer.from("✓")) + 1;
    a.res.write(bytes.subarray(0, cut));
    await settleLoop();
    a.res.write(bytes.subarray(cut));
    a.res.end(`${JSON.stringify({ i: 1, code: "TOUCH_ACCEPTED" })}\n`);
    expect((await results).map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
  });

  it("a connection reset leaves the logins still waiting unavailable (fail mode), the answered ones as they were", async () => {
    const { results } = touches(client(), 2);
    const [a] = (await arrived(1)) as [Arrival];
    a.res.writeHead(200, NDJSON);
    line(a, { i: 0, code: "TOUCH_ACCEPTED" });
    await settleLoop();
    a.res.socket?.destroy();
    const [first, second] = await results;
    expect(first).toEqual({ status: "fulfilled", value: "TOUCH_ACCEPTED" });
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(EdgeUnavailableError);
    expect(calls.map((c) => c.outcome)).toEqual(["ok", "unavailable"]);
  });

  it("each login has its own timeout: one times out unavailable, the other keeps waiting for its line", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const edge = client();
    const short = edge.touch(who(0), 15);
    const long = edge.touch(who(1), 60);
    const shortSettled = short.then(
      () => "resolved",
      (e: unknown) => e,
    );
    const [a] = (await arrived(1)) as [Arrival];
    a.res.writeHead(200, NDJSON);
    a.res.flushHeaders();
    await vi.advanceTimersByTimeAsync(15_000 + TOUCH_ANSWER_SLACK_MS + 1);
    const err = await shortSettled;
    expect(err).toBeInstanceOf(EdgeUnavailableError);
    expect((err as Error).message).toMatch(/edge timed out/);
    expect(a.closedEarly()).toBe(false);
    vi.useRealTimers();
    line(a, { i: 1, code: "TOUCH_ACCEPTED" });
    expect(await long).toBe("TOUCH_ACCEPTED");
    // Every login settled: the request is dropped though the edge never ended it.
    await settleLoop();
    expect(a.closedEarly()).toBe(true);
  });

  const wholeAnswers: Array<[string, number, Record<string, string>, string, (e: unknown) => void]> = [
    [
      "503 edge_unavailable: all unavailable",
      503,
      {},
      '{"error":"edge_unavailable"}',
      (e) => expect(e).toBeInstanceOf(EdgeUnavailableError),
    ],
    [
      "409 number_changed: all rejected with that code",
      409,
      {},
      '{"error":"number_changed"}',
      (e) => expect(e).toMatchObject({ name: "EdgeRejectedError", code: "number_changed" }),
    ],
    ["401: all rejected", 401, {}, '{"error":"unauthorized","reason":"replayed"}', (e) => expect(e).toBeInstanceOf(EdgeRejectedError)],
    ["500: all rejected", 500, {}, "oops", (e) => expect(e).toBeInstanceOf(EdgeRejectedError)],
    [
      "200 JSON (a single Touch's answer, not lines): all rejected",
      200,
      { "content-type": "application/json" },
      '{"code":"TOUCH_ACCEPTED"}',
      (e) => expect(e).toBeInstanceOf(EdgeRejectedError),
    ],
    [
      "200 without a content type: all rejected",
      200,
      {},
      '{"i":0,"code":"TOUCH_ACCEPTED"}\n{"i":1,"code":"TOUCH_ACCEPTED"}\n',
      (e) => expect(e).toBeInstanceOf(EdgeRejectedError),
    ],
    [
      "201 NDJSON: all rejected",
      201,
      NDJSON,
      '{"i":0,"code":"TOUCH_ACCEPTED"}\n{"i":1,"code":"TOUCH_ACCEPTED"}\n',
      (e) => expect(e).toBeInstanceOf(EdgeRejectedError),
    ],
  ];
  for (const [what, status, headers, body, check] of wholeAnswers) {
    it(`a whole answer applies to every login: ${what}`, async () => {
      handle = (a) => a.res.writeHead(status, headers).end(body);
      const { results } = touches(client(), 2);
      for (const r of await results) {
        expect(r.status).toBe("rejected");
        check((r as PromiseRejectedResult).reason);
      }
      expect(arrivals.map((a) => a.path)).toEqual([BATCH]);
    });
  }

  it("an answer past its size cap, or a line past its own, is refused and dropped; the client works after", async () => {
    const edge = client();
    handle = (a) => {
      a.res.writeHead(200, NDJSON);
      // Blank lines only: nothing to answer, only bytes.
      const piece = "\n".repeat(16 * 1024);
      for (let k = 0; k < MAX_EDGE_ANSWER_BYTES / piece.length + 2; k++) a.res.write(piece);
      a.res.end();
    };
    for (const r of await touches(edge, 2).results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(EdgeRejectedError);
    handle = (a) => {
      a.res.writeHead(200, NDJSON);
      line(a, { i: 0, code: "TOUCH_ACCEPTED" });
      // A valid line, padded past the cap with spaces JSON allows.
      a.res.write(`{"i":1,"code":"TOUCH_ACCEPTED"${" ".repeat(MAX_EDGE_LINE_BYTES)}}`);
    };
    const [first, second] = await touches(edge, 2).results;
    expect(first).toEqual({ status: "fulfilled", value: "TOUCH_ACCEPTED" });
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(EdgeRejectedError);
    await settleLoop();
    expect(arrivals.at(-1)?.closedEarly()).toBe(true);
    handle = (a) => a.res.writeHead(200, NDJSON).end('{"i":0,"code":"TOUCH_ACCEPTED"}\n{"i":1,"code":"TOUCH_ACCEPTED"}\n');
    expect((await touches(edge, 2).results).map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
  });

  it("a single call's answer past its size cap is refused too, never read as the edge being unavailable (no fail mode)", async () => {
    const edge = client();
    handle = (a) => {
      a.res.writeHead(200, { "content-type": "application/json" });
      const piece = " ".repeat(16 * 1024);
      for (let k = 0; k < MAX_EDGE_ANSWER_BYTES / piece.length + 2; k++) a.res.write(piece);
      a.res.end('{"code":"TOUCH_ACCEPTED"}');
    };
    const [only] = await touches(edge, 1).results;
    expect((only as PromiseRejectedResult).reason).toBeInstanceOf(EdgeRejectedError);
    expect(arrivals.map((a) => a.path)).toEqual([SINGLE]);
    expect(calls).toEqual([{ call: "touch", outcome: "refused" }]);
  });

  it("an edge without the batch route (404): each login again alone with its own token, then alone for a while", async () => {
    handle = (a) =>
      a.path === BATCH
        ? a.res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}')
        : a.res.writeHead(200, { "content-type": "application/json" }).end('{"code":"TOUCH_ACCEPTED"}');
    const edge = client();
    const first = await touches(edge, 2).results;
    expect(first.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(arrivals.map((a) => a.path)).toEqual([BATCH, SINGLE, SINGLE]);
    const singles = arrivals.slice(1);
    expect(singles.map((a) => JSON.parse(a.body)).sort((x, y) => x.username.localeCompare(y.username))).toEqual([
      { ...who(0), timeoutSeconds: 30 },
      { ...who(1), timeoutSeconds: 30 },
    ]);
    for (const a of singles) expect(await verified(a)).toBe(true);
    expect(new Set(arrivals.map((a) => a.auth)).size).toBe(3);
    // The next round's logins go alone, without asking for the batch route again.
    await touches(edge, 2).results;
    expect(arrivals.map((a) => a.path)).toEqual([BATCH, SINGLE, SINGLE, SINGLE, SINGLE]);
    // One "touch" per login as seen by the metrics: the singles', not the 404's.
    expect(calls).toHaveLength(4);
    expect(perCall).toEqual([2, 1, 1, 1, 1]);
  });

  it("touchBatchMax 1 sends every login alone; a lone login goes to /touch unchanged", async () => {
    handle = (a) => a.res.writeHead(200, { "content-type": "application/json" }).end('{"code":"TOUCH_ACCEPTED"}');
    await touches(client(1), 3).results;
    expect(arrivals.map((a) => a.path)).toEqual([SINGLE, SINGLE, SINGLE]);
    arrivals.length = 0;
    expect(await client().touch(who(0), 30)).toBe("TOUCH_ACCEPTED");
    expect(arrivals.map((a) => [a.path, JSON.parse(a.body)])).toEqual([[SINGLE, { ...who(0), timeoutSeconds: 30 }]]);
    expect(() => client(0)).toThrow(/edge\.touchBatchMax/);
    expect(() => client(TOUCH_BATCH_MAX_LOGINS + 1)).toThrow(/edge\.touchBatchMax/);
  });

  it("a login the edge would refuse goes alone: one user's bad input cannot get the others' logins refused", async () => {
    handle = (a) => {
      if (a.path === SINGLE) return a.res.writeHead(400, { "content-type": "application/json" }).end('{"error":"bad_request"}');
      a.res.writeHead(200, NDJSON).end('{"i":0,"code":"TOUCH_ACCEPTED"}\n{"i":1,"code":"TOUCH_ACCEPTED"}\n');
    };
    const edge = client();
    const bad = [
      { username: "x".repeat(USERNAME_MAX + 1), msisdn: "+46701234560" },
      { username: "   ", msisdn: "+46701234560" },
      { username: "mallory", msisdn: "0701234560" },
    ];
    for (const who0 of bad) {
      arrivals.length = 0;
      const [good0, odd, good1] = await Promise.allSettled([edge.touch(who(0), 30), edge.touch(who0, 30), edge.touch(who(1), 30)]);
      expect([good0?.status, odd?.status, good1?.status]).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(arrivals.map((a) => a.path).sort()).toEqual([SINGLE, BATCH].sort());
      const batch = arrivals.find((a) => a.path === BATCH);
      expect(JSON.parse(batch?.body ?? "{}").logins.map((l: { username: string }) => l.username)).toEqual(["user0", "user1"]);
    }
  });

  it("never sends more than TOUCH_BATCH_MAX_LOGINS in one call", async () => {
    handle = (a) => {
      const n = (JSON.parse(a.body) as { logins: unknown[] }).logins.length;
      a.res.writeHead(200, NDJSON).end(Array.from({ length: n }, (_, i) => `{"i":${i},"code":"TOUCH_ACCEPTED"}\n`).join(""));
    };
    const { results } = touches(client(), TOUCH_BATCH_MAX_LOGINS + 3);
    expect((await results).every((r) => r.status === "fulfilled")).toBe(true);
    expect(arrivals.map((a) => (JSON.parse(a.body) as { logins: unknown[] }).logins.length)).toEqual([TOUCH_BATCH_MAX_LOGINS, 3]);
  });

  it("signs every call at once, each in flight with its own token bound to its own body", async () => {
    handle = (a) => setTimeout(() => a.res.writeHead(200, { "content-type": "application/json" }).end('{"result":"accept"}'), 30);
    const mint = vi.spyOn(RelayTokenSigner.prototype, "mint");
    const edge = client();
    const both = Promise.all([edge.verifyTotp(who(0), "123456"), edge.verifyTotp(who(1), "123456")]);
    // Both signed before either request left: no hop to the thread pool between call and token.
    expect(mint.mock.calls.length).toBe(2);
    await both;
    expect(arrivals).toHaveLength(2);
    const [a, b] = arrivals as [Arrival, Arrival];
    expect(a.auth).not.toBe(b.auth);
    for (const arrival of arrivals) expect(await verified(arrival)).toBe(true);
    // Each token binds its own call's body only.
    expect(await verified({ ...a, body: b.body })).toBe(false);
  });
});

describe("readTouchBatchLine", () => {
  it("gives exactly what TOUCH_BATCH.line gives (its hand check accepts nothing the schema refuses)", () => {
    const samples = [
      '{"i":0,"code":"TOUCH_ACCEPTED"}',
      '{"code":"TOUCH_REJECTED","i":31}',
      '{"i":3,"code":"TOUCH_ACCEPTED","reason":"x"}',
      '{"i":1,"error":"number_changed"}',
      '{"i":1,"error":"edge_unavailable"}',
      '{"i":1,"error":"refused"}',
      '{"i":1,"error":"other"}',
      '{"i":32,"code":"TOUCH_ACCEPTED"}',
      '{"i":-1,"code":"TOUCH_ACCEPTED"}',
      '{"i":1.5,"code":"TOUCH_ACCEPTED"}',
      '{"i":"1","code":"TOUCH_ACCEPTED"}',
      '{"i":0,"code":"ACCEPTED"}',
      '{"i":0,"code":"toString"}',
      '{"i":0,"code":"__proto__"}',
      '{"i":0}',
      '{"code":"TOUCH_ACCEPTED"}',
      '[{"i":0,"code":"TOUCH_ACCEPTED"}]',
      "null",
      "7",
      "",
    ];
    for (const text of samples) {
      let expected: unknown;
      try {
        const parsed = TOUCH_BATCH.line.safeParse(JSON.parse(text));
        expected = parsed.success ? parsed.data : undefined;
      } catch {
        expected = undefined;
      }
      expect(readTouchBatchLine(text), text).toEqual(expected);
    }
    expect(readTouchBatchLine('{"i":0,"code":"TOUCH_ACCEPTED"}')).toEqual({ i: 0, code: "TOUCH_ACCEPTED" });
  });
});
