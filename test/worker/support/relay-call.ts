import { mintRelayToken } from "../../../core/contracts/relay-token";

/**
 * One relay API call as a relay makes it: POST `body` to `edge` + `path` with a relay token
 * bound to it (or `token` as given), through the Worker's fetch handler with `testEnv`.
 */
export async function relayPost(
  opts: { testEnv: Env; key: Parameters<typeof mintRelayToken>[0]; relay: string; edge: string; path: string; body: string },
  token?: string,
): Promise<Response> {
  const auth = token ?? (await mintRelayToken(opts.key, opts.relay, opts.edge, "POST", opts.path, opts.body));
  const worker = (await import("../../../workers/index")).default;
  return worker.fetch(
    new Request(`${opts.edge}${opts.path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${auth}` },
      body: opts.body,
    }),
    opts.testEnv,
    { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
  );
}
