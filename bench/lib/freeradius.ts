import { spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync as write } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess } from "../../harness/processes.ts";

/** Writes a file of the copy, refusing to follow a symlink out of it. */
function writeFileSync(path: string, text: string): void {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw new Error(`${path} is a symlink; refusing to write through it`);
  write(path, text);
}

/**
 * How FreeRADIUS decides: from its `users` file (the password), or, as REST-backed MFA
 * integrations plug in, by asking an HTTP service for every Access-Request through rlm_rest.
 */
export type FreeRadiusBackend = { kind: "users-file"; password: string } | { kind: "rest"; url: string };

/**
 * Debian's FreeRADIUS 3 with its stock configuration, copied to a temp dir and changed only
 * where a benchmark needs it: one client (127.0.0.1, Message-Authenticator required), one
 * user in the `users` file, our ports, and no privilege drop (we run as whoever we are).
 * With the `rest` backend the user's entry sets `Auth-Type := rest` instead of a password and
 * the default site's authenticate section runs rlm_rest (restModule()).
 */
export async function startFreeRadius(
  port: number,
  secret: string,
  user: string,
  backend: FreeRadiusBackend,
): Promise<{ stop: () => Promise<void>; output: () => string; pid: number | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-freeradius-"));
  // cp -L: a real copy of every file. (Node's cpSync keeps nested symlinks even with
  // `dereference`, and writing through them would edit the system's own configuration.)
  const cp = spawnSync("cp", ["-rL", "/etc/freeradius/3.0/.", dir]);
  if (cp.status !== 0) throw new Error(`copying /etc/freeradius/3.0 failed: ${cp.stderr}`);
  writeFileSync(
    join(dir, "clients.conf"),
    `client bench {\n  ipaddr = 127.0.0.1\n  secret = ${secret}\n  require_message_authenticator = yes\n}\n`,
  );
  const users = join(dir, "mods-config/files/authorize");
  const entry = backend.kind === "rest" ? "Auth-Type := rest" : `Cleartext-Password := "${backend.password}"`;
  writeFileSync(users, `${user} ${entry}\n${readFileSync(users, "utf8")}`);
  const radiusd = join(dir, "radiusd.conf");
  writeFileSync(radiusd, readFileSync(radiusd, "utf8").replace(/^\s*(user|group) = freerad/gm, "#$&"));
  // The default site listens on port 0 (= 1812/1813) for IPv4 and IPv6: give each its own port.
  const site = join(dir, "sites-enabled/default");
  let n = 0;
  let siteText = readFileSync(site, "utf8").replace(/^(\s*)port = 0/gm, (_m, ws: string) => `${ws}port = ${port + n++}`);
  if (backend.kind === "rest") {
    writeFileSync(join(dir, "mods-enabled/rest"), restModule(backend.url));
    siteText = siteText.replace(/^authenticate \{\n/m, "$&\tAuth-Type rest {\n\t\trest\n\t}\n");
  }
  writeFileSync(site, siteText);
  // inner-tunnel (EAP's inner site) listens on a fixed port: move it, so two can run at once.
  const inner = join(dir, "sites-enabled/inner-tunnel");
  writeFileSync(
    inner,
    readFileSync(inner, "utf8").replace(/^(\s*)port = 18120/m, (_m, ws: string) => `${ws}port = ${port + n}`),
  );
  const p = startProcess("freeradius", ["-f", "-d", dir, "-l", "stdout"]);
  const until = Date.now() + 20_000;
  while (!p.output().includes("Ready to process requests")) {
    if (p.child.exitCode !== null || Date.now() > until) throw new Error(`freeradius did not start:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    output: p.output,
    pid: p.child.pid,
    stop: async () => {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * rlm_rest as a REST-backed MFA integration configures it: in authenticate, one JSON POST of
 * the request's attributes per Access-Request, the user's name and password also as HTTP
 * Basic credentials, and a 2xx accepts (401 rejects). The pool is Debian's default (sized from the thread pool: 5 to
 * 32 connections, one per worker thread), each a libcurl handle that keeps its connection
 * alive between requests.
 */
function restModule(url: string): string {
  return `rest {
\ttls {
\t}
\tconnect_uri = "${url}"
\tauthenticate {
\t\turi = "\${..connect_uri}/rest/authenticate"
\t\tmethod = 'post'
\t\tbody = 'json'
\t\tauth = 'basic'
\t\tusername = "%{User-Name}"
\t\tpassword = "%{User-Password}"
\t\ttimeout = 10
\t\ttls = \${..tls}
\t}
\tpool {
\t\tstart = \${thread[pool].start_servers}
\t\tmin = \${thread[pool].min_spare_servers}
\t\tmax = \${thread[pool].max_servers}
\t\tspare = \${thread[pool].max_spare_servers}
\t\tuses = 0
\t\tretry_delay = 30
\t\tlifetime = 0
\t\tidle_timeout = 60
\t}
}
`;
}
