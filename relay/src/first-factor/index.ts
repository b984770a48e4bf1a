import type { FirstFactorConfig } from "../config.ts";
import { LdapFirstFactor } from "./ldap.ts";
import { RadiusFirstFactor } from "./radius-upstream.ts";
import type { FirstFactor } from "./types.ts";

/** No on-prem password check (the NAS or another system did it). */
class NoFirstFactor implements FirstFactor {
  readonly name = "none";
  async verify() {
    return { ok: true as const };
  }
}

export function firstFactorFrom(cfg: FirstFactorConfig): FirstFactor {
  switch (cfg.type) {
    case "none":
      return new NoFirstFactor();
    case "ldap":
      return new LdapFirstFactor(cfg);
    case "radius":
      return new RadiusFirstFactor(cfg);
  }
}
