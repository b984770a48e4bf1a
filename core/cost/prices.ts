/**
 * Cloudflare's published prices for what one authentication uses, Workers Paid plan, USD,
 * overage rates (the monthly inclusions are left out: a cost per million authentications
 * should not depend on what else the account runs). SMS is not Cloudflare's and not here.
 *
 * Sources, as read on PRICE_LIST_DATE:
 * - Durable Objects, https://developers.cloudflare.com/durable-objects/platform/pricing/
 *   "Requests: 1 million, + $0.15/million. Includes HTTP requests, RPC sessions, WebSocket
 *   messages, and alarm invocations"; "Duration: 400,000 GB-s, + $12.50/million GB-s";
 *   "Each RPC method call on a Durable Objects stub is its own RPC session and therefore a
 *   single billed request"; "a 20:1 ratio is applied to incoming WebSocket messages"; "There
 *   is no charge for outgoing WebSocket messages"; "Duration billing charges for the 128 MB of
 *   memory your Durable Object is allocated". SQLite storage backend: "Rows reads: First 25
 *   billion / month included + $0.001 / million rows"; "Rows written: First 50 million / month
 *   included + $1.00 / million rows"; "Key-value methods like get(), put(), delete(), or
 *   list() ... are billed as rows read and rows written"; "Each setAlarm() is billed as a
 *   single row written"; "Deletes are counted as rows written".
 * - D1, https://developers.cloudflare.com/d1/platform/pricing/: rows read and written at the
 *   same rates ("Rows read and rows written included limits and rates match D1 pricing",
 *   the Durable Objects page).
 * - Workers Standard, https://developers.cloudflare.com/workers/platform/pricing/: "10 million
 *   included per month + $0.30 per additional million" requests; "30 million CPU milliseconds
 *   included per month + $0.02 per additional million CPU milliseconds". Subrequests (to
 *   Durable Objects, D1, the SMS gateway) are not Worker requests.
 * - Workers Logs, same page: "Workers Paid: 20 million included per month +$0.60 per
 *   additional million" log events written; its example counts "1 execution log and 1
 *   console.log" per request, and Durable Object requests are logged too (their logs carry
 *   the object's id, changelog of 2026-07-24). The page says that from December 1, 2026
 *   Workers Logs moves to "Cloudflare Observability pricing"; this list is the one before.
 */
export const PRICE_LIST_DATE = "2026-11-29";

export interface PriceList {
  /** USD per million Worker requests. */
  workerRequestsPerMillion: number;
  /** USD per million Worker CPU milliseconds. */
  workerCpuMsPerMillion: number;
  /** USD per million Workers Logs events written (invocation logs and console lines). */
  logEventsPerMillion: number;
  /** USD per million Durable Object requests (RPC calls, fetches, alarms, 20 incoming WebSocket messages). */
  objectRequestsPerMillion: number;
  /** USD per million GB-s of Durable Object duration. */
  objectGbSecondsPerMillion: number;
  /** Memory every active object is billed for, in GB (128 MB). */
  objectMemoryGb: number;
  /** USD per million rows read / written, SQLite-backed Durable Object storage. */
  objectRowsReadPerMillion: number;
  objectRowsWrittenPerMillion: number;
  /** USD per million D1 rows read / written. */
  d1RowsReadPerMillion: number;
  d1RowsWrittenPerMillion: number;
  /** Incoming WebSocket messages billed as one request. */
  webSocketMessagesPerRequest: number;
}

export const CLOUDFLARE_PRICES: PriceList = {
  workerRequestsPerMillion: 0.3,
  workerCpuMsPerMillion: 0.02,
  logEventsPerMillion: 0.6,
  objectRequestsPerMillion: 0.15,
  objectGbSecondsPerMillion: 12.5,
  objectMemoryGb: 128 / 1024,
  objectRowsReadPerMillion: 0.001,
  objectRowsWrittenPerMillion: 1.0,
  d1RowsReadPerMillion: 0.001,
  d1RowsWrittenPerMillion: 1.0,
  webSocketMessagesPerRequest: 20,
};
