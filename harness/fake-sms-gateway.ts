import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RecordedRequest } from "./recorded-request.ts";

export type { RecordedRequest };

/**
 * A local SMS gateway for tests: a real HTTP server the Worker's SMS adapters talk to.
 * It records every request and behaves by recipient number so tests can provoke failures:
 *   ...0000 -> HTTP 503, ...0001 -> never answers in time, ...0002 -> 200 with a failed status,
 *   ...0003 -> HTTP 500 echoing the request body (as many gateways do in their errors),
 *   ...0004 -> 302 to /redirected (which would accept), ...0005 -> 200 with the success marker
 *   after 3,000 bytes of padding, anything else -> accepted. GET /_requests?to=... lists what arrived (newest last).
 */

function parseMessage(contentType: string, body: string, url: URL): { to: string | null; text: string | null } {
  const pick = (o: Record<string, unknown>) => ({
    to: (o.to ?? o.To ?? o.phone ?? null) as string | null,
    text: (o.message ?? o.Body ?? o.text ?? null) as string | null,
  });
  if (contentType.includes("json")) {
    try {
      return pick(JSON.parse(body) as Record<string, unknown>);
    } catch {
      return { to: null, text: null };
    }
  }
  if (contentType.includes("x-www-form-urlencoded")) return pick(Object.fromEntries(new URLSearchParams(body)));
  return pick(Object.fromEntries(url.searchParams));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeSmsGateway(port = 0): Promise<{ url: string; server: Server; requests: RecordedRequest[] }> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" && url.pathname === "/_requests") {
      const to = url.searchParams.get("to");
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(to ? requests.filter((r) => r.to === to) : requests));
      return;
    }
    const body = await readBody(req);
    const msg = parseMessage(String(req.headers["content-type"] ?? ""), body, url);
    requests.push({ method: req.method ?? "", path: url.pathname, headers: req.headers, body, ...msg, receivedAt: Date.now() });
    const to = msg.to ?? "";
    if (to.endsWith("0000")) {
      res.statusCode = 503;
      res.end("gateway unavailable");
    } else if (to.endsWith("0001")) {
      setTimeout(() => res.end("too late"), 20_000).unref();
    } else if (to.endsWith("0003")) {
      res.statusCode = 500;
      res.end(`invalid request: ${body}`);
    } else if (to.endsWith("0004")) {
      res.statusCode = 302;
      res.setHeader("location", `/redirected?to=${encodeURIComponent(to)}`);
      res.end();
    } else if (to.endsWith("0005")) {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ padding: "x".repeat(3000), status: "created" }));
    } else if (to.endsWith("0002")) {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "failed" }));
    } else {
      res.statusCode = url.pathname.includes("/Messages.json") ? 201 : 200;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: url.pathname.includes("/Messages.json") ? "queued" : "created", id: requests.length }));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  server.unref();
  const { port: p } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${p}`, server, requests };
}
