/**
 * The caller's address for per-IP limits. On Cloudflare `CF-Connecting-IP` is set by the edge
 * (a client cannot forge it); anything that is not a plain IPv4 or IPv6 address is ignored.
 * IPv6 clients usually hold a whole /64, so they are limited per /64.
 */
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function clientIp(headers: Headers): string | null {
  const ip = headers.get("cf-connecting-ip")?.trim();
  if (!ip || ip.length > 45) return null;
  if (IPV4.test(ip)) return ip.split(".").every((o) => Number(o) <= 255) ? ip : null;
  return expandIpv6(ip) ? ip.toLowerCase() : null;
}

/** The key an address is limited under: IPv4 as is, IPv6 by its /64 prefix. */
export function ipBucket(ip: string): string {
  if (IPV4.test(ip)) return ip;
  const groups = expandIpv6(ip);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : ip;
}

/** Eight hextets of an IPv6 address (no zone, no embedded IPv4), or null. */
function expandIpv6(ip: string): string[] | null {
  if (!/^[0-9a-fA-F:]+$/.test(ip) || (ip.match(/::/g)?.length ?? 0) > 1) return null;
  const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  const parse = (s: string | undefined) => (s ? s.split(":") : []);
  const h = parse(head);
  const t = parse(tail);
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? h.length !== 8 : missing < 1) return null;
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...t];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""));
}
