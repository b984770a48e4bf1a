import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newSigningSecret, parseSigningSecret, signWebhook } from "../../core/webhook-signature.ts";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";
import { type DevServer, freePort, startDevServer } from "../../harness/dev-server.ts";
import { answerLink, devOutboxLink } from "../support/magic-link-user.ts";

/**
 * The README's webhook receiver (examples/webhook-receiver.mjs), run as an integrator runs it:
 * first fed by the edge's own signing code (good, tampered, stale, repeated deliveries), then
 * end to end behind `npm run dev`: an endpoint with a webhook to it, an async call, the phone
 * user's Accept, and the receiver prints the result.
 */
const SECRET = newSigningSecret();
let port: number;
let receiver: ChildProcess;
let printed = "";
let dev: DevServer;

beforeAll(async () => {
  port = await freePort();
  receiver = spawn(process.execPath, ["examples/webhook-receiver.mjs"], {
    env: { ...process.env, WEBHOOK_SECRET: SECRET, PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  receiver.stdout?.on("data", (d) => (printed += d));
  // The Worker secret the endpoint's webhook.signingSecret names; plain http to localhost: DEMO_MODE.
  dev = await startDevServer(["--var", `DEV_WEBHOOK_SECRET:${SECRET}`]);
});
afterAll(async () => {
  receiver?.kill();
  await dev?.stop();
});

async function deliver(body: string, opts: { id?: string; at?: number; tamper?: boolean } = {}): Promise<number> {
  const key = parseSigningSecret(SECRET);
  if (!key) throw new Error("bad test secret");
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = Math.floor((opts.at ?? Date.now()) / 1000);
  const signature = await signWebhook(key, id, timestamp, body);
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
    },
    body: opts.tamper ? body.replace("ACCEPTED", "REJECTED") : body,
  });
  return res.status;
}

const payload = (id: string, code: string) =>
  JSON.stringify({ type: "auth.finished", timestamp: new Date().toISOString(), data: { id, endpoint: "demo", code } });

async function printedLine(line: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (!printed.split("\n").includes(line)) {
    if (Date.now() > until) throw new Error(`the receiver did not print "${line}"; it printed:\n${printed}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("examples/webhook-receiver.mjs", () => {
  it("the README shows it as it is", () => {
    expect(readFileSync("README.md", "utf8")).toContain(readFileSync("examples/webhook-receiver.mjs", "utf8").trim());
  });

  it("takes a signed delivery once per webhook-id; refuses a tampered body and a stale timestamp", async () => {
    expect(await deliver(payload("tampered", "TOUCH_ACCEPTED"), { tamper: true })).toBe(401);
    expect(await deliver(payload("stale", "TOUCH_ACCEPTED"), { at: Date.now() - 10 * 60_000 })).toBe(401);
    expect(await deliver(payload("first", "TOUCH_ACCEPTED"), { id: "msg_same" })).toBe(204);
    expect(await deliver(payload("first", "TOUCH_ACCEPTED"), { id: "msg_same" })).toBe(204); // a retry
    await printedLine("first TOUCH_ACCEPTED");
    expect(printed.split("\n").filter((l) => l.startsWith("first "))).toHaveLength(1);
    expect(printed).not.toContain("tampered");
    expect(printed).not.toContain("stale");
  });

  it("end to end: an async call's result reaches it, signed by the edge", async () => {
    const admin = (path: string, body: unknown) =>
      fetch(`${dev.url}/admin/v1${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const name = `hooked-${Date.now() % 1e6}`;
    const webhook = { url: `http://localhost:${port}/`, signingSecret: { secret: "DEV_WEBHOOK_SECRET" } };
    expect((await admin("/endpoints", { name, webhook })).status).toBe(201);
    const token = (await (await admin(`/endpoints/${name}/tokens`, { name: "async" })).json()) as { secret: string };

    const msisdn = `+4673${String(Date.now() % 1e7).padStart(7, "0")}`;
    const res = await fetch(`${dev.url}/api/v2/auth/${name}`, {
      method: "POST",
      headers: { "api-key": token.secret, "content-type": "application/json" },
      body: JSON.stringify({ msisdn }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(await answerLink(await devOutboxLink(dev.url, msisdn), "accept")).toBe(200);
    await printedLine(`${id} TOUCH_ACCEPTED`);
  });
});
