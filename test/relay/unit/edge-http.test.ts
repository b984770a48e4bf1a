import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, Pool } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EdgeTimeoutError, MAX_EDGE_ANSWER_BYTES, postToEdge } from "../../../relay/src/edge-http.ts";

/** The relay's POST to the edge (relay/src/edge-http.ts) against a real local HTTP server. */
describe("postToEdge", () => {
  let server: Server;
  let origin: string;
  let handle: (req: IncomingMessage, body: string, res: ServerResponse) => void = (_q, _b, res) => res.end("{}");
  const seen: Array<{ path: string; auth: string | undefined; type: string | undefined; body: string; closedEarly: boolean }> = [];
  const agent = new Agent({ keepAliveTimeout: 30_000 });

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d: string) => (body += d));
      req.on("end", () => {
        const entry = { path: req.url ?? "", auth: req.headers.authorization, type: req.headers["content-type"], body, closedEarly: false };
        seen.push(entry);
        res.on("close", () => (entry.closedEarly = !res.writableFinished));
        handle(req, body, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    seen.length = 0;
  });
  afterAll(async () => {
    await agent.close();
    server.closeAllConnections();
    server.close();
  });
  const headers = ["authorization", "Bearer t0ken", "content-type", "application/json"];

  it("sends the path, headers and body, and gives the status and the body as text", async () => {
    handle = (_q, _b, res) => res.writeHead(201, { "content-type": "application/json" }).end('{"code":"TOUCH_ACCEPTED"}');
    const answer = await postToEdge({
      dispatcher: agent,
      origin,
      path: "/prefix/api/relay/v1/touch",
      headers,
      body: '{"a":1}',
      timeoutMs: 2000,
    });
    expect(answer).toEqual({ status: 201, text: '{"code":"TOUCH_ACCEPTED"}' });
    expect(seen).toEqual([
      { path: "/prefix/api/relay/v1/touch", auth: "Bearer t0ken", type: "application/json", body: '{"a":1}', closedEarly: false },
    ]);
  });

  it("gives a refusal's status and body as they came", async () => {
    handle = (_q, _b, res) => res.writeHead(503).end('{"error":"edge_unavailable"}');
    expect(await postToEdge({ dispatcher: agent, origin, path: "/x", headers, body: "{}", timeoutMs: 2000 })).toEqual({
      status: 503,
      text: '{"error":"edge_unavailable"}',
    });
    handle = (_q, _b, res) => res.writeHead(204).end();
    expect(await postToEdge({ dispatcher: agent, origin, path: "/x", headers, body: "{}", timeoutMs: 2000 })).toEqual({
      status: 204,
      text: "",
    });
  });

  it("joins a body sent in pieces, a character split between them included", async () => {
    const bytes = Buffer.from('{"reason":"åäö ✓ done"}', "utf8");
    handle = (_q, _b, res) => {
      res.writeHead(200);
      // Split inside the three-byte ✓.
      const cut = bytes.indexOf(Buffer.from("✓")) + 1;
      res.write(bytes.subarray(0, cut));
      setTimeout(() => res.end(bytes.subarray(cut)), 20);
    };
    expect(await postToEdge({ dispatcher: agent, origin, path: "/x", headers, body: "{}", timeoutMs: 2000 })).toEqual({
      status: 200,
      text: '{"reason":"åäö ✓ done"}',
    });
  });

  it("refuses an answer larger than MAX_EDGE_ANSWER_BYTES instead of buffering it, and still works after", async () => {
    handle = (_q, _b, res) => {
      res.writeHead(200);
      const piece = Buffer.alloc(16 * 1024, "a");
      for (let i = 0; i < MAX_EDGE_ANSWER_BYTES / piece.length + 2; i++) res.write(piece);
      res.end();
    };
    await expect(postToEdge({ dispatcher: agent, origin, path: "/x", headers, body: "{}", timeoutMs: 2000 })).rejects.toThrow(
      /larger than/,
    );
    handle = (_q, _b, res) => res.writeHead(200).end('{"ok":true}');
    expect(await postToEdge({ dispatcher: agent, origin, path: "/x", headers, body: "{}", timeoutMs: 2000 })).toEqual({
      status: 200,
      text: '{"ok":true}',
    });
  });

  it("takes the final status after an informational one", async () => {
    handle = (_q, _b, res) => {
      res.writeProcessing();
      setTimeout(() => res.writeHead(200).end('{"ok":true}'), 20);
    };
    expect(await postToEdge({ dispatcher: agent, origin, path: "/x", headers, body: "{}", timeoutMs: 2000 })).toEqual({
      status: 200,
      text: '{"ok":true}',
    });
  });

  it("times out the whole call: rejects on time and drops the request", async () => {
    handle = (_q, _b, res) => setTimeout(() => !res.destroyed && res.end("{}"), 1500);
    const started = performance.now();
    const call = postToEdge({ dispatcher: agent, origin, path: "/slow", headers, body: "{}", timeoutMs: 300 });
    await expect(call).rejects.toBeInstanceOf(EdgeTimeoutError);
    await expect(call).rejects.toMatchObject({ name: "TimeoutError", message: "timed out after 300 ms" });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1400);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.map((s) => s.closedEarly)).toEqual([true]);
  });

  it("a call that times out while it waits for a connection is never sent", async () => {
    // One connection: the second call queues behind the first until the first is answered.
    const one = new Pool(origin, { connections: 1, pipelining: 1 });
    try {
      handle = (_q, _b, res) => setTimeout(() => res.end('{"first":true}'), 600);
      const first = postToEdge({ dispatcher: one, origin, path: "/first", headers, body: "{}", timeoutMs: 2000 });
      const second = postToEdge({ dispatcher: one, origin, path: "/second", headers, body: "{}", timeoutMs: 200 });
      await expect(second).rejects.toBeInstanceOf(EdgeTimeoutError);
      expect(await first).toEqual({ status: 200, text: '{"first":true}' });
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.map((s) => s.path)).toEqual(["/first"]);
    } finally {
      await one.close();
    }
  });

  it("rejects when the edge cannot be reached, not as a timeout", async () => {
    const call = postToEdge({ dispatcher: agent, origin: "http://127.0.0.1:9", path: "/x", headers, body: "{}", timeoutMs: 2000 });
    await expect(call).rejects.toThrow();
    await expect(call).rejects.not.toBeInstanceOf(EdgeTimeoutError);
  });

  it("rejects when the edge drops the connection mid-answer", async () => {
    handle = (_q, _b, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write('{"code":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    await expect(postToEdge({ dispatcher: agent, origin, path: "/x", headers, body: "{}", timeoutMs: 2000 })).rejects.toThrow();
  });
});
