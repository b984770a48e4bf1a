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

/** fetch with a deadline; network errors and timeouts become DeliveryError. */
export async function fetchWithTimeout(
  provider: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error;
    const why = err.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err.message;
    throw new DeliveryError(`${provider}: ${why}`);
  }
}

export function basicAuth(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** Reads at most `limit` characters of a response body for error messages and checks. */
export async function bodyText(res: Response, limit = 2000): Promise<string> {
  const t = await res.text().catch(() => "");
  return t.length > limit ? `${t.slice(0, limit)}…` : t;
}
