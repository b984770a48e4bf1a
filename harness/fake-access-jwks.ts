import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for a Cloudflare Access team's key set (GET /cdn-cgi/access/certs), so the
 * admin console's Access check verifies real RS256 JWTs against a real JWKS over HTTP. It
 * serves the public half of `signing`; `other` has the same kid but is never served (a forged
 * token signed with it must fail). The private JWKs go to the tests, which sign their tokens.
 */
export interface FakeAccessJwks {
  certsUrl: string;
  /** Private JWKs (JSON) with kid and alg set. */
  signingJwk: string;
  otherJwk: string;
  stop: () => Promise<void>;
}

export async function startFakeAccessJwks(): Promise<FakeAccessJwks> {
  const kid = randomBytes(8).toString("hex");
  const key = () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return {
      priv: { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256" },
      pub: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" },
    };
  };
  const signing = key();
  const other = key();
  const body = JSON.stringify({ keys: [signing.pub], public_cert: { kid }, public_certs: [] });
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/cdn-cgi/access/certs") {
      res.writeHead(200, { "content-type": "application/json" }).end(body);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref(); // started for a whole test run: never what keeps the process alive
  const { port } = server.address() as AddressInfo;
  return {
    certsUrl: `http://127.0.0.1:${port}/cdn-cgi/access/certs`,
    signingJwk: JSON.stringify(signing.priv),
    otherJwk: JSON.stringify(other.priv),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
