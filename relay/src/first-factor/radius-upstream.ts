import { randomBytes } from "node:crypto";
import radius from "radius";
import type { FirstFactorConfig } from "../config.ts";
import { verifyReply } from "../radius/packet.ts";
import { udpExchange } from "../radius/udp-exchange.ts";
import { FirstFactorUnavailableError, type FirstFactor, type FirstFactorResult } from "./types.ts";

type UpstreamConfig = Extract<FirstFactorConfig, { type: "radius" }>;

/**
 * Password check against an upstream RADIUS server (e.g. NPS or FreeRADIUS): one
 * Access-Request with Message-Authenticator, retried on timeout, reply authenticated.
 */
export class RadiusFirstFactor implements FirstFactor {
  readonly name = "radius";
  readonly vouchesForUser = true;
  readonly #cfg: UpstreamConfig;

  constructor(cfg: UpstreamConfig) {
    this.#cfg = cfg;
  }

  async verify(user: string, password: string): Promise<FirstFactorResult> {
    if (!user || !password) return { ok: false, reason: "empty username or password" };
    const identifier = randomBytes(1)[0]!;
    const request = radius.encode({
      code: "Access-Request",
      secret: this.#cfg.secret,
      identifier,
      add_message_authenticator: true,
      attributes: [
        ["User-Name", user],
        ["User-Password", password],
      ],
    });
    const authenticator = request.subarray(4, 20);
    const reply = await this.#exchange(request, (r) => verifyReply(r, authenticator, this.#cfg.secret, true));
    const code = reply[0];
    if (code === 2) return { ok: true };
    return { ok: false, reason: code === 3 ? "upstream rejected" : `upstream answered code ${code}` };
  }

  async #exchange(request: Buffer, authentic: (reply: Buffer) => boolean): Promise<Buffer> {
    try {
      return await udpExchange(request, this.#cfg, authentic);
    } catch (e) {
      throw new FirstFactorUnavailableError(`radius: ${(e as Error).message}`);
    }
  }
}
