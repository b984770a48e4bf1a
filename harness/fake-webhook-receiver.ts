import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

/**
 * A local webhook receiver for tests: a real HTTPS server (webhook URLs must be https; it serves
 * the fake push service's test-only certificate for localhost/127.0.0.1, which the runtime
 * trusts via NODE_EXTRA_CA_CERTS). It records every delivery and answers by its path:
 *   POST /hook/{name}?fail=N  -> 500 to the first N deliveries for {name}, then 204
 *   POST /hook/{name}?redirect=1 -> 307 to /hook/{name}-redirected (which would accept)
 *   GET  /_received?name={name} -> what arrived for {name} (headers, raw body, answer), oldest first.
 * It does not verify signatures: the tests do, on what it recorded, as a receiver would.
 */

export interface ReceivedWebhook {
  name: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  answered: number;
  receivedAt: number;
}

const CERT = fileURLToPath(new URL("./tls/fake-push-service.crt", import.meta.url));
const KEY = fileURLToPath(new URL("./tls/fake-push-service.key", import.meta.url));

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeWebhookReceiver(port = 0): Promise<{ url: string; server: Server; received: ReceivedWebhook[] }> {
  const received: ReceivedWebhook[] = [];
  const server = createServer({ cert: readFileSync(CERT), key: readFileSync(KEY) }, async (req, res) => {
    const url = new URL(req.url ?? "/", "https://localhost");
    if (req.method === "GET" && url.pathname === "/_received") {
      const name = url.searchParams.get("name");
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(received.filter((r) => r.name === name)));
      return;
    }
    const match = url.pathname.match(/^\/hook\/([A-Za-z0-9._-]{1,100})$/);
    if (req.method !== "POST" || !match?.[1]) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const name = match[1];
    const body = await readBody(req);
    const before = received.filter((r) => r.name === name).length;
    const fail = Number(url.searchParams.get("fail") ?? "0");
    let answered = before < fail ? 500 : 204;
    if (url.searchParams.get("redirect") === "1") {
      answered = 307;
      res.setHeader("location", `/hook/${name}-redirected`);
    }
    received.push({ name, headers: req.headers, body, answered, receivedAt: Date.now() });
    res.statusCode = answered;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  server.unref(); // started for a whole test run: never what keeps the process alive
  const { port: bound } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${bound}`, server, received };
}
