import { createSocket } from "node:dgram";

/**
 * Sends one RADIUS request to a server from a fresh socket and resolves with the first
 * datagram from that server carrying the request's identifier that `authentic` accepts,
 * resending after each `timeoutMs` up to `retries` times. A reply that fails `authentic` is
 * ignored, not an answer: anyone can spray the socket with forged replies (UDP sources are
 * easily spoofed), and taking the first one would let them end every exchange. Rejects (plain
 * Error) on no authentic answer or a socket error.
 */
export function udpExchange(
  request: Buffer,
  to: { host: string; port: number; timeoutMs: number; retries: number },
  authentic: (reply: Buffer) => boolean,
): Promise<Buffer> {
  const { host, port, timeoutMs, retries } = to;
  const identifier = request[1];
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    let attempts = 0;
    let timer: NodeJS.Timeout;
    let settled = false;
    let forged = 0;
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
        if (attempts > retries) {
          const why =
            forged > 0
              ? `${forged} reply(ies) from ${host}:${port} failed authentication (wrong secret?)`
              : `no answer from ${host}:${port}`;
          done(() => reject(new Error(why)));
        } else send();
      }, timeoutMs);
    };
    socket.on("message", (msg, rinfo) => {
      if (rinfo.port !== port || msg.length < 20 || msg[1] !== identifier) return; // not ours
      if (!authentic(msg)) {
        forged++;
        return;
      }
      done(() => resolve(msg));
    });
    socket.on("error", (err) => done(() => reject(err)));
    send();
  });
}
