import { ConfigSchema, EndpointSchema, type Config } from "./schema";

/**
 * The key from the Mideye API reference's own curl example, so the documented request works
 * as-is against `npm run dev`. Accepted only when DEMO_MODE is "true".
 */
export const DEMO_API_KEY = "c3859cad-479a-4d65-9253-459ea4a12b34";
const DEMO_API_KEY_SHA256 = "6077fd28f987e73d9fd156876c22ce93b1e0efbe0530d6b8ffca86c6431b33ac";

export class ConfigError extends Error {}

let cached: { raw: string; demo: boolean; config: Config } | undefined;

/** Parses and validates MFA_CONFIG; memoised per isolate because env strings are immutable. */
export function loadConfig(env: Pick<Env, "MFA_CONFIG" | "DEMO_MODE">): Config {
  const raw = env.MFA_CONFIG ?? "";
  const demo = env.DEMO_MODE === "true";
  if (cached && cached.raw === raw && cached.demo === demo) return cached.config;
  let json: unknown = {};
  if (raw.trim() !== "") {
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new ConfigError(`MFA_CONFIG is not valid JSON: ${(e as Error).message}`);
    }
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`MFA_CONFIG is invalid: ${parsed.error.message}`);
  const config = demo ? withDemoEndpoint(parsed.data) : parsed.data;
  cached = { raw, demo, config };
  return config;
}

function withDemoEndpoint(config: Config): Config {
  if (config.endpoints.some((e) => e.name === "demo")) return config;
  return {
    ...config,
    defaultEndpoint: config.endpoints.length === 0 ? "demo" : config.defaultEndpoint,
    // ...and the app can start an activation itself (the SMS lands in the dev outbox).
    appActivation: config.appActivation ?? {
      endpoint: "demo",
      ipLimit: { perMinute: 10, perHour: 60 },
      smsBudget: { perMinute: 20, perHour: 200 },
    },
    endpoints: [
      ...config.endpoints,
      EndpointSchema.parse({
        name: "demo",
        apiKeys: [{ name: "demo key (DEMO_MODE only)", sha256: DEMO_API_KEY_SHA256 }],
        timeoutSeconds: 60,
        // The demo shows the whole product: the link page offers the authenticator app.
        enableActivation: true,
        // ...and its offline codes can be checked with the demo key.
        offlineCodes: true,
      }),
    ],
  };
}
