import { createSocket } from "node:dgram";

/**
 * Sends one RADIUS request to a server from a fresh socket and resolves with the first
 * datagram from that server carrying the request's identifier, resending after each
 * `timeoutMs` up to `retries` times. Rejects (plain Error) on no answer or a socket error.
 * The caller authenticates the reply.
 */
export function udpExchange(request: Buffer, to: { host: string; port: number; timeoutMs: number; retries: number }): Promise<Buffer> {
  const { host, port, timeoutMs, retries } = to;
  const identifier = request[1];
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    let attempts = 0;
    let timer: NodeJS.Timeout;
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      fn();
    };
    const send = () => {
      attempts++;
      socket.send(request, port, host, (err) => err && done(() => reject(err)));
      timer = setTimeout(() => {
        if (attempts > retries) done(() => reject(new Error(`no answer from ${host}:${port}`)));
        else send();
      }, timeoutMs);
    };
    socket.on("message", (msg, rinfo) => {
      if (rinfo.port !== port || msg.length < 20 || msg[1] !== identifier) return; // not ours
      done(() => resolve(msg));
    });
    socket.on("error", (err) => done(() => reject(err)));
    send();
  });
}
