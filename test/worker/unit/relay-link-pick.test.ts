import { describe, expect, it } from "vitest";
import { askOrder, type SocketInfo } from "../../../workers/objects/relay-link/pick";

/** Which of a site's sockets the link object asks, in which order (pure). */
const sock = (relay: string, lastSeen: number, open = true): SocketInfo<string> => ({ socket: relay, relay, open, lastSeen });

describe("relay link: the ask order", () => {
  const configured = new Set(["a", "b", "c"]);
  it("asks open, configured, recently seen sockets, starting at a random one and wrapping round", () => {
    const sockets = [sock("a", 1000), sock("b", 1000), sock("c", 1000)];
    expect(askOrder(sockets, configured, 2000, 5000, () => 0).usable.map((s) => s.relay)).toEqual(["a", "b", "c"]);
    expect(askOrder(sockets, configured, 2000, 5000, () => 0.5).usable.map((s) => s.relay)).toEqual(["b", "c", "a"]);
    expect(askOrder(sockets, configured, 2000, 5000, () => 0.99).usable.map((s) => s.relay)).toEqual(["c", "a", "b"]);
  });

  it("drops stale sockets and relays no longer configured; skips closed ones", () => {
    const { usable, drop } = askOrder(
      [sock("a", 0), sock("b", 9000), sock("x", 9000), sock("c", 9000, false)],
      configured,
      10_000,
      5000,
      () => 0,
    );
    expect(usable.map((s) => s.relay)).toEqual(["b"]);
    expect(drop.map((s) => s.relay).sort()).toEqual(["a", "x"]);
    expect(askOrder([], configured, 0, 5000, () => 0.7)).toEqual({ usable: [], drop: [] });
  });
});
