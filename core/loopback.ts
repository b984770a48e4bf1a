/**
 * Loopback hosts, as the host a request came to: where demo mode and the cost meters answer,
 * because nothing comes from off the machine (names under `.localhost` included, as browsers
 * treat them). Pure. Where an outbound call may go in clear is isLoopbackTarget's to say: the
 * SMS adapters, webhooks and directories, the relay's edge URL, the admin CLI.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = normalHost(hostname);
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  return v4 !== null && v4[1] === "127" && v4.slice(2).every((o) => Number(o) <= 255);
}

/**
 * A host an outbound call reaches on this machine without asking DNS: "localhost" itself and
 * loopback addresses. Names under `.localhost` are loopback to a browser, and to the demo-mode
 * guard, which checks where a request came to; a program that calls out resolves them through
 * the system's resolver, which need not keep them on the machine.
 */
export function isLoopbackTarget(hostname: string): boolean {
  const h = normalHost(hostname);
  return !h.endsWith(".localhost") && isLoopbackHost(h);
}

/** Lower case, IPv6 brackets and a trailing dot gone. */
function normalHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
}

/** https, or http to a loopback target (local tests and dev): where an outbound call may go in clear. */
export function isHttpsOrLoopback(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === "https:" || (u.protocol === "http:" && isLoopbackTarget(u.hostname));
}
