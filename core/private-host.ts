/**
 * Hosts of a private network an operator-set URL must not make the edge post to outside
 * DEMO_MODE: IP literals of private, shared (CGNAT), link-local (cloud metadata at
 * 169.254.169.254), unspecified and unique-local ranges, and .internal/.local names. Loopback
 * is core/loopback.ts's (the tests' local servers; on Cloudflare it reaches nothing). Pure, on
 * the URL's hostname (the URL parser has already turned 167772161 or 0xa.1 into dotted form).
 * A DNS name that resolves to such an address is not caught here (the edge cannot resolve
 * names before fetch); on Cloudflare those addresses are not routable from a Worker anyway.
 */
export function isPrivateNetworkHost(hostname: string): boolean {
  const h = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (h.endsWith(".local") || h.endsWith(".internal")) return true;
  const v4 = ipv4(h);
  if (v4) return privateV4(v4);
  if (!h.includes(":")) return false;
  // IPv4-mapped (::ffff:10.0.0.1, or as the URL parser writes it, ::ffff:a00:1).
  const mapped = h.match(/^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/);
  if (mapped) {
    if (mapped[1]) {
      const m = ipv4(mapped[1]);
      return m === null || privateV4(m);
    }
    const hi = Number.parseInt(mapped[2] ?? "0", 16);
    const lo = Number.parseInt(mapped[3] ?? "0", 16);
    return privateV4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  if (h === "::") return true;
  const first = Number.parseInt(h.split(":")[0] || "0", 16);
  // fc00::/7 unique local, fe80::/10 link-local.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}

function ipv4(h: string): number[] | null {
  const m = h.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function privateV4([a = 0, b = 0]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168)
  );
}
