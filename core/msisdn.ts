/**
 * MSISDN normalisation. The API contract wants E.164 ("+46701234567", URL-encoded as %2B...).
 * Clients that forget to encode the "+" send it as a space (form decoding), and some send
 * the "00" international prefix; both are unambiguous, so we accept them as "+".
 */
import { E164 } from "./contracts/relay.ts";

export function normalizeMsisdn(raw: string): string | null {
  let v = raw;
  if (/^ \d/.test(v)) v = `+${v.slice(1)}`;
  else if (/^00[1-9]/.test(v)) v = `+${v.slice(2)}`;
  return E164.test(v) ? v : null;
}

/** "+46701234567" -> "+4670*****67": enough to recognise in logs, not enough to reuse. */
export function maskMsisdn(msisdn: string): string {
  if (msisdn.length <= 6) return "*".repeat(msisdn.length);
  return msisdn.slice(0, 4) + "*".repeat(msisdn.length - 6) + msisdn.slice(-2);
}
