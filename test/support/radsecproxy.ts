import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess } from "../../harness/processes.ts";
import { freeUdpPort } from "../../harness/relay-process.ts";
import type { IssuedCert } from "./tls-certs.ts";

/**
 * Debian's radsecproxy, a real RadSec client, in the foreground: it takes RADIUS/UDP from
 * radclient on loopback (client secret `udpSecret`) and forwards every realm over TLS to the
 * relay with the given client certificate and the RFC 6614 secret "radsec".
 */
export interface Radsecproxy {
  /** host:port radclient sends to. */
  target: string;
  udpSecret: string;
  output: () => string;
  stop: () => Promise<void>;
}

export async function startRadsecproxy(opts: { relayPort: number; caFile: string; cert: IssuedCert }): Promise<Radsecproxy> {
  const port = await freeUdpPort();
  const udpSecret = "radsecproxy-udp-secret";
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-radsecproxy-"));
  const conf = join(dir, "radsecproxy.conf");
  writeFileSync(
    conf,
    `ListenUDP 127.0.0.1:${port}
LogLevel 4

tls relay-tls {
    CACertificateFile ${opts.caFile}
    CertificateFile ${opts.cert.cert}
    CertificateKeyFile ${opts.cert.key}
}

client radclient {
    host 127.0.0.1
    type udp
    secret ${udpSecret}
}

# The relay over TLS; its certificate must name 127.0.0.1 (CertificateNameCheck is on by default).
server relay {
    host 127.0.0.1
    port ${opts.relayPort}
    type tls
    tls relay-tls
    secret radsec
    StatusServer off
    # radsecproxy gives up on a request after ~10 s by default; a Touch waits for the user.
    RetryInterval 35
    RetryCount 0
}

realm * {
    server relay
}
`,
  );
  const proc = startProcess("/usr/sbin/radsecproxy", ["-f", "-c", conf, "-i", join(dir, "pid")]);
  const until = Date.now() + 10_000;
  while (!proc.output().includes(`listening for udp on 127.0.0.1:${port}`)) {
    if (proc.child.exitCode !== null || Date.now() > until) throw new Error(`radsecproxy did not start:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { target: `127.0.0.1:${port}`, udpSecret, output: proc.output, stop: proc.stop };
}
