import { BlockList, isIP } from "node:net";
import type { ClientConfig } from "../config.ts";

/**
 * Maps a packet's source address to its RADIUS client (and so its shared secret). Uses
 * node's BlockList for CIDR matching; the most specific block wins, like FreeRADIUS.
 */
export class ClientTable {
  #entries: Array<{ list: BlockList; prefix: number; client: ClientConfig }>;

  constructor(clients: ClientConfig[]) {
    this.#entries = clients
      .map((client) => {
        const [addr, bits] = client.address.split("/");
        const family = isIP(addr ?? "");
        if (!family) throw new Error(`client "${client.name}": "${client.address}" is not an IP address or CIDR`);
        const type = family === 6 ? "ipv6" : "ipv4";
        const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
          throw new Error(`client "${client.name}": bad prefix length in "${client.address}"`);
        }
        const list = new BlockList();
        list.addSubnet(addr!, prefix, type);
        return { list, prefix, client };
      })
      .sort((a, b) => b.prefix - a.prefix);
  }

  match(address: string): ClientConfig | undefined {
    const v4mapped = address.startsWith("::ffff:") ? address.slice(7) : address;
    const family = isIP(v4mapped) === 6 ? "ipv6" : "ipv4";
    return this.#entries.find((e) => e.list.check(v4mapped, family))?.client;
  }
}
