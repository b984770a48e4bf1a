/**
 * Which of a site's sockets to ask, in order: pure, so the choice is tested without sockets.
 * A socket counts when it is open, belongs to a relay still configured for the site, and has
 * pinged (or connected) within the stale window; the order starts at a random socket so the
 * load spreads over the site's relays.
 */
export interface SocketInfo<S> {
  socket: S;
  relay: string;
  open: boolean;
  /** Last keepalive ping, else the time it connected (ms). */
  lastSeen: number;
}

export function askOrder<S>(
  sockets: SocketInfo<S>[],
  configured: ReadonlySet<string>,
  now: number,
  staleAfterMs: number,
  random: () => number,
): { usable: SocketInfo<S>[]; drop: SocketInfo<S>[] } {
  const usable: SocketInfo<S>[] = [];
  const drop: SocketInfo<S>[] = [];
  for (const s of sockets) {
    if (!s.open) continue;
    if (!configured.has(s.relay) || now - s.lastSeen > staleAfterMs) drop.push(s);
    else usable.push(s);
  }
  const start = usable.length ? Math.floor(random() * usable.length) % usable.length : 0;
  return { usable: [...usable.slice(start), ...usable.slice(0, start)], drop };
}
