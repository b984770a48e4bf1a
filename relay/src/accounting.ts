import { randomBytes } from "node:crypto";
import type { AccountingConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import { encodeAccountingRequest, verifyReply, type RadiusRequest } from "./radius/packet.ts";
import { udpExchange } from "./radius/udp-exchange.ts";

const ACCOUNTING_RESPONSE = 5;
/**
 * Forwards waiting for the upstream at once (each holds a socket for up to timeoutMs ×
 * (retries + 1)). Past it a record is not acknowledged, so the NAS retries it later: a flood
 * of records cannot run the relay out of descriptors its logins need.
 */
export const MAX_FORWARDS_IN_FLIGHT = 256;

/** Where a record came from, for its log line. */
export interface RecordSource {
  client: string;
  transport: string;
  nas: string;
}

/**
 * Records one Accounting-Request; true when it is recorded and may be acknowledged. RFC 2866
 * §2: a server must not acknowledge a record it could not record, so with a `forward` upstream
 * configured it is true only once that server sent a valid Accounting-Response; without one,
 * the record is the log line.
 */
export class AccountingRecorder {
  readonly #forward: AccountingConfig["forward"];
  readonly #log: Logger;
  #inFlight = 0;

  constructor(forward: AccountingConfig["forward"], log: Logger) {
    this.#forward = forward;
    this.#log = log;
  }

  async record(req: RadiusRequest, from: RecordSource): Promise<boolean> {
    const fields = { ...from, ...summary(req) };
    const upstream = this.#forward;
    if (!upstream) {
      this.#log.log("info", "accounting", fields);
      return true;
    }
    if (this.#inFlight >= MAX_FORWARDS_IN_FLIGHT) {
      this.#log.log("warn", "accounting_not_recorded", { ...fields, error: `${MAX_FORWARDS_IN_FLIGHT} forwards already waiting` });
      return false;
    }
    this.#inFlight++;
    try {
      const request = encodeAccountingRequest(randomBytes(1)[0] ?? 0, req.rawAttributes, upstream.secret);
      await udpExchange(
        request,
        upstream,
        (reply) => reply[0] === ACCOUNTING_RESPONSE && verifyReply(reply, request.subarray(4, 20), upstream.secret, false),
      );
      this.#log.log("info", "accounting", { ...fields, forwardedTo: `${upstream.host}:${upstream.port}` });
      return true;
    } catch (e) {
      this.#log.log("warn", "accounting_not_recorded", {
        ...fields,
        upstream: `${upstream.host}:${upstream.port}`,
        error: (e as Error).message,
      });
      return false;
    } finally {
      this.#inFlight--;
    }
  }
}

/** The attributes worth a log line; none of them secret (an Accounting-Request carries no password). */
function summary(req: RadiusRequest): Record<string, unknown> {
  const a = req.attributes;
  const text = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v).slice(0, 128) : undefined);
  return {
    user: text(a["User-Name"]),
    statusType: text(a["Acct-Status-Type"]),
    sessionId: text(a["Acct-Session-Id"]),
    sessionTime: text(a["Acct-Session-Time"]),
    terminateCause: text(a["Acct-Terminate-Cause"]),
  };
}
