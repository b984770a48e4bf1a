import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { isLoopbackTarget } from "../../core/loopback";

/**
 * Cloudflare Access in front of the admin console. When ACCESS_TEAM_DOMAIN and ACCESS_AUD
 * are set, every console request must carry a `Cf-Access-Jwt-Assertion` that verifies against
 * the team's JWKS (RS256 only, issuer, audience, expiry); its `email` is the operator.
 * ACCESS_CERTS_URL replaces the JWKS address only with a plain-http loopback URL (the tests'
 * local fake JWKS): on Cloudflare loopback reaches nothing, so it cannot point production at
 * a key an attacker holds.
 */
export class ConsoleConfigError extends Error {
  override name = "ConsoleConfigError";
}

export interface AccessConfig {
  issuer: string;
  aud: string;
  certsUrl: string;
}

type AccessEnv = { ACCESS_TEAM_DOMAIN?: string; ACCESS_AUD?: string; ACCESS_CERTS_URL?: string };

const TEAM = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Access application AUD tags are 64 hex characters. */
const AUD = /^[0-9a-f]{64}$/;

/** The Access settings, or null when Access is not configured; a half or malformed setting is an error naming the variable. */
export function accessConfigFromEnv(env: AccessEnv): AccessConfig | null {
  const domain = env.ACCESS_TEAM_DOMAIN?.trim().toLowerCase() ?? "";
  const aud = env.ACCESS_AUD?.trim().toLowerCase() ?? "";
  if (!domain && !aud) return null;
  if (!domain) throw new ConsoleConfigError("ACCESS_TEAM_DOMAIN must be set when ACCESS_AUD is (e.g. myteam.cloudflareaccess.com)");
  if (!aud) throw new ConsoleConfigError("ACCESS_AUD must be set when ACCESS_TEAM_DOMAIN is (the Access application's AUD tag)");
  const team = domain
    .replace(/^https:\/\//, "")
    .replace(/\/+$/, "")
    .replace(/\.cloudflareaccess\.com$/, "");
  if (!TEAM.test(team)) throw new ConsoleConfigError("ACCESS_TEAM_DOMAIN must be <team>.cloudflareaccess.com (or just <team>)");
  if (!AUD.test(aud)) throw new ConsoleConfigError("ACCESS_AUD must be the Access application's AUD tag: 64 hex characters");
  const issuer = `https://${team}.cloudflareaccess.com`;
  return { issuer, aud, certsUrl: certsUrl(issuer, env.ACCESS_CERTS_URL) };
}

function certsUrl(issuer: string, override: string | undefined): string {
  if (!override?.trim()) return `${issuer}/cdn-cgi/access/certs`;
  let u: URL;
  try {
    u = new URL(override.trim());
  } catch {
    throw new ConsoleConfigError("ACCESS_CERTS_URL is not a URL");
  }
  if (u.protocol !== "http:" || !isLoopbackTarget(u.hostname))
    throw new ConsoleConfigError(
      "ACCESS_CERTS_URL may only name a local test JWKS (http://127.0.0.1 or localhost); leave it unset in production",
    );
  return u.href;
}

// One key set per address per isolate: jose caches the keys and refetches on an unknown kid.
const keySets = new Map<string, JWTVerifyGetKey>();
function keySet(url: string): JWTVerifyGetKey {
  let set = keySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    keySets.set(url, set);
  }
  return set;
}

/** The operator (the JWT's email), or null for a missing, forged, expired or foreign assertion. */
export async function accessOperator(config: AccessConfig, assertion: string | undefined): Promise<string | null> {
  if (!assertion) return null;
  try {
    const { payload } = await jwtVerify(assertion, keySet(config.certsUrl), {
      algorithms: ["RS256"],
      issuer: config.issuer,
      audience: config.aud,
      requiredClaims: ["exp", "email"],
      clockTolerance: 30,
    });
    const email = payload.email;
    return typeof email === "string" && email.length > 0 && email.length <= 254 ? email : null;
  } catch (e) {
    // A JWKS that cannot be fetched is an outage, not a bad token: let it surface as one.
    if (e instanceof errors.JWKSTimeout) throw e;
    return null;
  }
}
