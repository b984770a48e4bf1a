/** The edge could not be asked (transport failure, timeout) or said it is unavailable: fail mode applies. */
export class EdgeUnavailableError extends Error {
  override name = "EdgeUnavailableError";
}
/**
 * The edge answered, but not with a usable yes/no: a refusal (any non-2xx but the explicit
 * "unavailable"), or a body that is not what the API promises. Always rejects the login.
 * `code`: the edge's machine-readable reason, when it gave one (e.g. "number_changed").
 */
export class EdgeRejectedError extends Error {
  override name = "EdgeRejectedError";
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/** A failure to get any answer (connect, TLS, timeout, a dropped connection): the edge is unavailable. */
export function transportFailure(error: Error, timeoutMs: number): EdgeUnavailableError {
  const timedOut = error.name === "TimeoutError" || error.name === "AbortError" || /timeout/i.test(error.name);
  return new EdgeUnavailableError(timedOut ? `edge timed out after ${timeoutMs} ms` : `edge unreachable: ${error.message}`);
}
