import type { BadRequestReason } from "../../core/codes";
import { ENDPOINT_NAME, type Config, type Endpoint } from "../config/schema";
import { authenticateApiKey } from "../lib/api-keys";
import { resolveEndpoint } from "../store/endpoints";

export type KeyedCall =
  | { ok: true; endpoint: Endpoint; keyName: string }
  /** `endpoint`: the one the call named, when it exists (the refusal is counted against it). */
  | { ok: false; endpoint: Endpoint | null; reason: BadRequestReason };

/**
 * A call keyed like the Magic Link API (also the offline-code API): the endpoint it names
 * (from config or D1; a malformed name is no endpoint) and the api-key header checked
 * against that endpoint's keys. A key that matches one in MFA_CONFIG is settled without a D1
 * read: D1 cannot revoke or override a configured endpoint or key (resolveEndpoint), so the
 * answer is the same, one query sooner. Any other key (a D1 token, a wrong or expired one) takes
 * the full path, which compares it against every key of the endpoint.
 */
export async function authenticateKeyedCall(
  env: Env,
  config: Config,
  endpointName: string,
  apiKey: string | undefined,
): Promise<KeyedCall> {
  const configured = config.endpoints.find((e) => e.name === endpointName);
  if (configured && apiKey) {
    const key = await authenticateApiKey(configured, apiKey, new Date());
    if (key.ok) return { ok: true, endpoint: configured, keyName: key.keyName };
  }
  const endpoint = ENDPOINT_NAME.test(endpointName) ? await resolveEndpoint(env.DB, config.endpoints, endpointName) : null;
  const key = await authenticateApiKey(endpoint, apiKey, new Date());
  if (!key.ok) return { ok: false, endpoint, reason: key.reason };
  // authenticateApiKey accepts no key without an endpoint.
  if (!endpoint) return { ok: false, endpoint, reason: "unknown_endpoint" };
  return { ok: true, endpoint, keyName: key.keyName };
}
