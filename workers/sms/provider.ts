/** What every SMS adapter implements. `send` resolves once the gateway accepted the message. */
export interface SmsMessage {
  /** E.164 recipient, "+46701234567". */
  to: string;
  /** Full message text, link included. */
  text: string;
  /** The approval link alone, for gateways/templates that want it separately. */
  link: string;
}

export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<void>;
}

/** The gateway refused, failed or timed out: the session ends as FAILED_DELIVERY. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
}

/**
 * fetch with a deadline; network errors and timeouts become DeliveryError. Redirects are
 * never followed (a 3xx is a failure): a gateway must not be able to send the message, link
 * and credentials on to another host.
 */
export async function fetchWithTimeout(provider: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error;
    const why = err.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err.message;
    throw new DeliveryError(`${provider}: ${why}`);
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new DeliveryError(`${provider}: gateway answered ${res.status} (a redirect; redirects are not followed)`);
  }
  return res;
}

export function basicAuth(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** How much of a gateway's reply is read: enough for any real answer, bounded for memory. */
export const MAX_GATEWAY_BODY_BYTES = 64 * 1024;

export interface GatewayReply {
  /** The body as received, up to the bound (never altered, so success checks see the real text). */
  text: string;
  bytes: number;
  /** The gateway sent more than the bound; the rest was discarded. */
  truncated: boolean;
}

/**
 * Reads a gateway's reply up to `limit` bytes. Replies often echo the message (and with it
 * the live link), so errors and logs name only the status and size, never the text.
 */
export async function readReply(res: Response, limit = MAX_GATEWAY_BODY_BYTES): Promise<GatewayReply> {
  // A reply that says its length, within the bound, is read whole in one go (the usual case,
  // and cheaper than the chunk loop); the length is the message framing, so it cannot run over.
  const length = Number(res.headers.get("content-length") ?? Number.NaN);
  if (Number.isInteger(length) && length >= 0 && length <= limit) {
    try {
      const body = new Uint8Array(await res.arrayBuffer());
      return { text: new TextDecoder().decode(body), bytes: body.byteLength, truncated: false };
    } catch {
      // Cut off mid-body: unlike the loop below, nothing of it can be kept; judged on no text.
      return { text: "", bytes: 0, truncated: false };
    }
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let truncated = false;
  const reader = res.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = limit - bytes;
      if (value.byteLength > room) {
        chunks.push(value.subarray(0, room));
        bytes += room;
        truncated = true;
        await reader.cancel();
        break;
      }
      chunks.push(value);
      bytes += value.byteLength;
    }
  } catch {
    // A reply cut off mid-body is judged on what arrived.
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { text: new TextDecoder().decode(all), bytes, truncated };
}

/** "503, 19 bytes": what a delivery error may say about a reply. */
export function describeReply(res: Response, reply: GatewayReply): string {
  return `${res.status}, ${reply.bytes}${reply.truncated ? "+" : ""} bytes`;
}
