import { expect } from "vitest";
import { LinkRequestFrame, RELAY_LINK_PATH, type LinkErrorCode } from "../../../core/contracts/relay-link";
import { mintRelayToken } from "../../../core/contracts/relay-token";

/** Worker tests as a relay on the relay link: a real WebSocket upgrade through the Worker's route. */
export const EDGE = "https://mfa.example.com";
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

export async function upgradeLink(testEnv: Env, headers: Record<string, string>): Promise<Response> {
  const worker = (await import("../../../workers/index")).default;
  return worker.fetch(new Request(`${EDGE}${RELAY_LINK_PATH}`, { headers }), testEnv, ctx);
}

export type Reply = { ok: true; result: unknown } | { ok: false; error: { code: LinkErrorCode; message: string } };
export type Behaviour = (req: LinkRequestFrame, reply: (frame: Reply) => void, ws: WebSocket) => void;

export interface FakeRelay {
  ws: WebSocket;
  asked: LinkRequestFrame[];
  closed: Promise<number>;
}

/** Connects relay `name` (its token signed with `key`) and answers every request per `behave`. */
export async function connectFakeRelay(testEnv: Env, key: CryptoKey, name: string, behave: Behaviour): Promise<FakeRelay> {
  const token = await mintRelayToken(key, name, EDGE, "GET", RELAY_LINK_PATH, "");
  const res = await upgradeLink(testEnv, { upgrade: "websocket", authorization: `Bearer ${token}` });
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (!ws) throw new Error("no websocket in the 101");
  ws.accept();
  const asked: LinkRequestFrame[] = [];
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.addEventListener("message", (e) => {
    if (e.data === "pong") return; // the keepalive's answer
    const req = LinkRequestFrame.parse(JSON.parse(String(e.data)));
    asked.push(req);
    behave(req, (frame) => ws.send(JSON.stringify({ type: "response", id: req.id, ...frame })), ws);
  });
  return { ws, asked, closed };
}
