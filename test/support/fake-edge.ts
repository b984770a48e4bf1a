import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { RELAY_API_BASE, RELAY_CALLS } from "../../core/contracts/relay-api.ts";
import { EDGE_STATE_BYTES } from "../../core/contracts/relay-challenge.ts";

/**
 * A stand-in edge for relay tests that need to steer it (hold a Touch, refuse, go away) rather
 * than run `npm run dev`: a real HTTP server with the relay API's touch and subscriber calls
 * and the edge's /healthz. It does not check relay tokens (the edge's own tests do).
 * SMS OTP is there too, with the fixed code SMS_CODE and challenges kept as the edge keeps
 * them for a site (issued, then redeemed once), for tests of Access-Challenge rounds.
 * `touchAnswer` decides each Touch: a result code, or a raw status and body; it may wait.
 */
export type TouchAnswer = string | { status: number; body: unknown };

/** The code every SMS OTP of the fake edge "sends". */
export const SMS_CODE = "314159";

export interface FakeEdge {
  url: string;
  /** Relay API calls received, by path below RELAY_API_BASE ("/touch", "/sms-otp"...). */
  calls: Record<string, number>;
  /** Touch calls received: the request bodies. */
  touches: Array<Record<string, unknown>>;
  healthChecks: () => number;
  touchAnswer: (body: Record<string, unknown>) => TouchAnswer | Promise<TouchAnswer>;
  /** Stops answering at all (connections refused) or comes back on the same port. */
  setDown: (down: boolean) => Promise<void>;
  stop: () => Promise<void>;
}

export async function startFakeEdge(): Promise<FakeEdge> {
  let healthChecks = 0;
  const sockets = new Set<Socket>();
  const challenges = new Map<string, Record<string, unknown>>();
  const edge: FakeEdge = {
    url: "",
    calls: {},
    touches: [],
    healthChecks: () => healthChecks,
    touchAnswer: () => "TOUCH_ACCEPTED",
    setDown: async () => undefined,
    stop: async () => undefined,
  };
  const json = (res: import("node:http").ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      if (req.method === "GET" && req.url === "/healthz") {
        healthChecks++;
        return json(res, 200, { ok: true });
      }
      const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      const call = (req.url ?? "").startsWith(RELAY_API_BASE) ? (req.url ?? "").slice(RELAY_API_BASE.length) : undefined;
      if (call !== undefined) edge.calls[call] = (edge.calls[call] ?? 0) + 1;
      if (req.url === `${RELAY_API_BASE}${RELAY_CALLS.touch.path}`) {
        edge.touches.push(body);
        void Promise.resolve(edge.touchAnswer(body)).then((a) =>
          typeof a === "string" ? json(res, 200, { code: a }) : json(res, a.status, a.body),
        );
        return;
      }
      if (req.url === `${RELAY_API_BASE}${RELAY_CALLS.subscriber.path}`) return json(res, 200, { totp: false, app: false });
      if (call === RELAY_CALLS.smsOtp.path) return json(res, 200, { code: "SENT", challengeId: randomBytes(8).toString("hex") });
      if (call === RELAY_CALLS.smsOtpVerify.path) return json(res, 200, { result: body.code === SMS_CODE ? "accept" : "reject" });
      if (call === RELAY_CALLS.challengeIssue.path) {
        const state = randomBytes(EDGE_STATE_BYTES).toString("hex");
        const { user, nas, ttlSeconds, ...challenge } = body;
        challenges.set(state, { ...challenge, user });
        return json(res, 200, { state });
      }
      if (call === RELAY_CALLS.challengeRedeem.path) {
        const held = challenges.get(String(body.state));
        challenges.delete(String(body.state));
        if (!held || held.user !== body.user) return json(res, 200, { result: "unknown" });
        const { user, ...challenge } = held;
        return json(res, 200, { result: "ok", challenge });
      }
      json(res, 404, { error: "not_found" });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const listen = (port: number) => new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  edge.url = `http://127.0.0.1:${port}`;
  let down = false;
  edge.setDown = async (d) => {
    if (d === down) return;
    down = d;
    await (d ? close() : listen(port));
  };
  edge.stop = () => (down ? Promise.resolve() : close());
  return edge;
}
