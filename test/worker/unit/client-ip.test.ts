import { describe, expect, it } from "vitest";
import { clientIp, ipBucket } from "../../../workers/lib/client-ip";

const h = (ip?: string) => new Headers(ip === undefined ? {} : { "cf-connecting-ip": ip });

describe("client address", () => {
  it("takes CF-Connecting-IP when it is an IPv4 or IPv6 address", () => {
    expect(clientIp(h("203.0.113.7"))).toBe("203.0.113.7");
    expect(clientIp(h("2001:DB8::1"))).toBe("2001:db8::1");
    expect(clientIp(h())).toBeNull();
    for (const bad of ["999.1.1.1", "1.2.3", "x", "2001:db8::1::2", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3.4 ", "a".repeat(100)]) {
      expect(clientIp(h(bad)), bad).toBeNull();
    }
  });
  it("limits IPv4 per address and IPv6 per /64", () => {
    expect(ipBucket("203.0.113.7")).toBe("203.0.113.7");
    expect(ipBucket("2001:db8:0:1::42")).toBe("2001:db8:0:1::/64");
    expect(ipBucket("2001:db8:0:1:ffff:1:2:3")).toBe("2001:db8:0:1::/64");
    expect(ipBucket("2001:0db8:0000:0001::1")).toBe("2001:db8:0:1::/64");
    expect(ipBucket("::1")).toBe("0:0:0:0::/64");
  });
});
