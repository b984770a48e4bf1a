import { createSocket } from "node:dgram";
import radius from "radius";

/**
 * An upstream accounting server (RFC 2866) for the relay's `accounting.forward`: it checks
 * each Accounting-Request with node-radius (its Request Authenticator under `secret`),
 * records its attributes and answers Accounting-Response. While `down`, it neither records
 * nor answers, like a server that is away.
 */
export interface UpstreamAccounting {
  port: number;
  records: Array<Record<string, unknown>>;
  /** Packets that arrived while down or failed authentication. */
  ignored: () => number;
  setDown: (down: boolean) => void;
  stop: () => Promise<void>;
}

export async function startUpstreamAccounting(secret: string): Promise<UpstreamAccounting> {
  const socket = createSocket("udp4");
  const records: Array<Record<string, unknown>> = [];
  let ignored = 0;
  let down = false;
  socket.on("message", (msg, rinfo) => {
    let req: ReturnType<typeof radius.decode>;
    try {
      if (down) throw new Error("down");
      req = radius.decode({ packet: msg, secret });
      if (req.code !== "Accounting-Request") throw new Error(`not accounting: ${req.code}`);
    } catch {
      ignored++;
      return;
    }
    records.push(req.attributes as Record<string, unknown>);
    socket.send(radius.encode_response({ packet: req, code: "Accounting-Response", secret }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  return {
    port: socket.address().port,
    records,
    ignored: () => ignored,
    setDown: (d) => {
      down = d;
    },
    stop: () => new Promise((r) => socket.close(() => r())),
  };
}
