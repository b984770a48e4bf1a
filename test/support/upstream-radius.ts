import { createSocket } from "node:dgram";
import radius from "radius";

/**
 * A minimal upstream RADIUS server for the relay's "radius" first factor: it accepts the
 * listed user/password pairs and rejects everything else, answering with a
 * Message-Authenticator. Built with the `radius` package's codec.
 */
export async function startUpstreamRadius(
  secret: string,
  users: Record<string, string>,
): Promise<{ port: number; received: () => number; stop: () => Promise<void> }> {
  const socket = createSocket("udp4");
  let received = 0;
  socket.on("message", (msg, rinfo) => {
    received++;
    const req = radius.decode({ packet: msg, secret });
    const ok = users[req.attributes["User-Name"] as string] === req.attributes["User-Password"];
    const reply = radius.encode_response({ packet: req, code: ok ? "Access-Accept" : "Access-Reject", secret });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  return { port: socket.address().port, received: () => received, stop: () => new Promise((r) => socket.close(() => r())) };
}
