import { connect, type TLSSocket } from "node:tls";
import { FrameReader } from "../../relay/src/radsec/framing.ts";
import type { IssuedCert } from "./tls-certs.ts";

/**
 * A bare RadSec client for framing tests: a TLS connection with a client certificate that
 * collects the RADIUS replies the relay writes back, framed by their Length field.
 */
export interface RadsecTestClient {
  socket: TLSSocket;
  replies: Buffer[];
  /** Resolves when the relay has closed the connection (or it failed). */
  closed: Promise<void>;
  isClosed: () => boolean;
  waitForReplies: (n: number, timeoutMs?: number) => Promise<Buffer[]>;
}

export async function radsecConnect(
  port: number,
  opts: {
    ca: Buffer;
    cert?: IssuedCert;
    minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2";
    maxVersion?: "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
    ciphers?: string;
  },
): Promise<RadsecTestClient> {
  const socket = connect({
    host: "127.0.0.1",
    port,
    ca: opts.ca,
    servername: "localhost",
    ...(opts.cert ? { cert: opts.cert.pem.cert, key: opts.cert.pem.key } : {}),
    ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
    ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
    ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
  });
  const replies: Buffer[] = [];
  const reader = new FrameReader();
  let closedFlag = false;
  socket.on("data", (d: Buffer) => replies.push(...reader.push(d).packets));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((r) =>
    socket.once("close", () => {
      closedFlag = true;
      r();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", reject);
    socket.once("close", () => reject(new Error("closed before the handshake finished")));
  });
  return {
    socket,
    replies,
    closed,
    isClosed: () => closedFlag,
    waitForReplies: async (n, timeoutMs = 5000) => {
      const until = Date.now() + timeoutMs;
      while (replies.length < n) {
        if (Date.now() > until) throw new Error(`${replies.length} of ${n} replies after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return replies;
    },
  };
}
