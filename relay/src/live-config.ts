import type { RelayConfig } from "./config.ts";
import { ClientTable } from "./radius/clients.ts";

/**
 * The settings new requests use, swapped whole on reload. A request takes `current` (and its
 * client from `clients`) once when it arrives and keeps that snapshot to the end.
 */
export class LiveConfig {
  #config: RelayConfig;
  #clients: ClientTable;

  constructor(config: RelayConfig) {
    this.#config = config;
    this.#clients = new ClientTable(config.clients);
  }

  get current(): RelayConfig {
    return this.#config;
  }

  get clients(): ClientTable {
    return this.#clients;
  }

  /** Throws (and keeps the old settings) when the new client table cannot be built. */
  replace(config: RelayConfig): void {
    const clients = new ClientTable(config.clients);
    this.#config = config;
    this.#clients = clients;
  }
}
