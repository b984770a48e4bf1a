import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A throwaway PKI for RadSec tests, made with openssl at test time (no private key is
 * committed): a CA, the relay's server certificate (SAN localhost and 127.0.0.1), client
 * certificates it issues, and a rogue CA issuing certificates with the same names.
 */
export interface IssuedCert {
  cert: string;
  key: string;
  /** SHA-256 of the DER, 64 lower-case hex digits (what `certFingerprintSha256` takes). */
  fingerprint: string;
  pem: { cert: Buffer; key: Buffer };
}

export interface TestPki {
  dir: string;
  caFile: string;
  caPem: Buffer;
  server: IssuedCert;
  /** A client certificate from the CA, for a DNS name. */
  client(name: string): IssuedCert;
  /** A client certificate with the same kind of name, from a CA the relay does not trust. */
  rogueClient(name: string): IssuedCert;
  /** A self-signed client certificate (no CA at all). */
  selfSigned(name: string): IssuedCert;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, file: string, cn = file): { cert: string; key: string } {
  const cert = join(dir, `${file}.crt`);
  const key = join(dir, `${file}.key`);
  // biome-ignore format: openssl's arguments read best in pairs
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
    "-days", "2", "-subj", `/CN=${cn}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  return { cert, key };
}

function issue(dir: string, ca: { cert: string; key: string }, file: string, cn: string, san: string, eku: string): IssuedCert {
  const key = join(dir, `${file}.key`);
  const csr = join(dir, `${file}.csr`);
  const cert = join(dir, `${file}.crt`);
  const ext = join(dir, `${file}.ext`);
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=${eku}\nbasicConstraints=CA:FALSE\n`);
  // biome-ignore format: openssl's arguments read best in pairs
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${cn}`], dir);
  // biome-ignore format: openssl's arguments read best in pairs
  openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext], dir);
  return loaded(cert, key);
}

function loaded(cert: string, key: string): IssuedCert {
  const pem = { cert: readFileSync(cert), key: readFileSync(key) };
  const fingerprint = new X509Certificate(pem.cert).fingerprint256.replace(/:/g, "").toLowerCase();
  return { cert, key, fingerprint, pem };
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-radsec-pki-"));
  const ca = makeCa(dir, "radsec-test-ca");
  const rogue = makeCa(dir, "rogue-ca");
  let n = 0;
  return {
    dir,
    caFile: ca.cert,
    caPem: readFileSync(ca.cert),
    server: issue(dir, ca, "relay-server", "localhost", "DNS:localhost,IP:127.0.0.1", "serverAuth"),
    client: (name) => issue(dir, ca, `client-${n++}`, name, `DNS:${name}`, "clientAuth"),
    rogueClient: (name) => issue(dir, rogue, `rogue-${n++}`, name, `DNS:${name}`, "clientAuth"),
    selfSigned: (name) => {
      const self = makeCa(dir, `self-${n++}`, name);
      return loaded(self.cert, self.key);
    },
  };
}
