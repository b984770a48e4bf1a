import { spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync as write } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess } from "../../harness/processes.ts";

/**
 * Debian's FreeRADIUS 3 with its stock configuration, copied to a temp dir and changed only
 * where a benchmark needs it: one client (127.0.0.1, Message-Authenticator required), one
 * user in the `users` file, our ports, and no privilege drop (we run as whoever we are).
 */
/** Writes a file of the copy, refusing to follow a symlink out of it. */
function writeFileSync(path: string, text: string): void {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw new Error(`${path} is a symlink; refusing to write through it`);
  write(path, text);
}

export async function startFreeRadius(
  port: number,
  secret: string,
  user: string,
  password: string,
): Promise<{ stop: () => Promise<void> }> {
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
  writeFileSync(users, `${user} Cleartext-Password := "${password}"\n${readFileSync(users, "utf8")}`);
  const radiusd = join(dir, "radiusd.conf");
  writeFileSync(radiusd, readFileSync(radiusd, "utf8").replace(/^\s*(user|group) = freerad/gm, "#$&"));
  // The default site listens on port 0 (= 1812/1813) for IPv4 and IPv6: give each its own port.
  const site = join(dir, "sites-enabled/default");
  let n = 0;
  writeFileSync(
    site,
    readFileSync(site, "utf8").replace(/^(\s*)port = 0/gm, (_m, ws: string) => `${ws}port = ${port + n++}`),
  );
  const p = startProcess("freeradius", ["-f", "-d", dir, "-l", "stdout"]);
  const until = Date.now() + 20_000;
  while (!p.output().includes("Ready to process requests")) {
    if (p.child.exitCode !== null || Date.now() > until) throw new Error(`freeradius did not start:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    stop: async () => {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
