/**
 * The one place that turns a Durable Object binding into an id or a stub, so that
 * `DO_JURISDICTION` applies to every object: with "eu" each namespace is used through
 * `namespace.jurisdiction("eu")`, which creates (and finds) its objects in Cloudflare's EU
 * jurisdiction. test/architecture/durable-object-access.test.ts fails on any other use of a
 * namespace in workers/.
 */
import { meteredStub, meteringOn } from "./metering";

/** The Durable Object bindings of the Worker (wrangler.toml). */
export type ObjectBinding =
  | "AUTH_SESSION"
  | "SUBSCRIBER"
  | "LOAD_SHARD"
  | "IP_LIMITER"
  | "DEV_OUTBOX"
  | "RELAY_REPLAY"
  | "RELAY_CHALLENGES"
  | "RESET_SESSION"
  | "RELAY_LINK"
  | "ASYNC_AUTH";

/** Jurisdictions an operator may choose (Cloudflare's list; "eu" is the one the docs describe). */
const JURISDICTIONS: readonly DurableObjectJurisdiction[] = ["eu", "us", "fedramp", "fedramp-high"];

/** `DO_JURISDICTION` checked: null when unset; a clear error on any other value. */
export function jurisdictionFromEnv(env: Pick<Env, "DO_JURISDICTION">): DurableObjectJurisdiction | null {
  const value = (env.DO_JURISDICTION ?? "").trim();
  if (value === "") return null;
  const known = JURISDICTIONS.find((j) => j === value);
  if (!known) throw new Error(`DO_JURISDICTION must be empty or one of ${JURISDICTIONS.join(", ")} (got "${value}")`);
  return known;
}

/** The binding's namespace, restricted to the configured jurisdiction when there is one. */
export function objectNamespace<K extends ObjectBinding>(env: Env, binding: K): Env[K] {
  const namespace = env[binding];
  const jurisdiction = jurisdictionFromEnv(env);
  // Each binding's jurisdiction() returns a namespace of its own object class.
  return jurisdiction ? (namespace.jurisdiction(jurisdiction) as Env[K]) : namespace;
}

/** The stub of the object named `name` (ids from names are stable within one jurisdiction). */
export function objectStub<K extends ObjectBinding>(env: Env, binding: K, name: string): ReturnType<Env[K]["getByName"]> {
  const stub = objectNamespace(env, binding).getByName(name) as ReturnType<Env[K]["getByName"]>;
  // Counted as requests only in the cost bench (metering.ts); otherwise the stub itself.
  return meteringOn(env) ? meteredStub(stub, binding) : stub;
}

/** The id of the object named `name`, as `objectStub` would address it. */
export function objectId<K extends ObjectBinding>(env: Env, binding: K, name: string): DurableObjectId {
  return objectNamespace(env, binding).idFromName(name);
}
