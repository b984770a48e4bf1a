import { env } from "cloudflare:workers";
import { SignJWT, base64url, importJWK, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { ConsoleConfigError, accessConfigFromEnv } from "../../workers/lib/cf-access";
import { ConsoleBrowser } from "./support/console";

/**
 * Issue 15 item 1: the console behind Cloudflare Access. Real RS256 JWTs, verified against a
 * local JWKS over HTTP (harness/fake-access-jwks.ts, reached through ACCESS_CERTS_URL).
 */
const TEAM = "edge-mfa-test";
const ISSUER = `https://${TEAM}.cloudflareaccess.com`;
const AUD = "a".repeat(64);
const accessEnv = { ACCESS_TEAM_DOMAIN: `${TEAM}.cloudflareaccess.com`, ACCESS_AUD: AUD, ACCESS_CERTS_URL: env.TEST_ACCESS_CERTS_URL };

async function jwt(
  claims: Record<string, unknown>,
  opts: { key?: string; aud?: string; iss?: string; exp?: number | string; alg?: string } = {},
): Promise<string> {
  const jwk = JSON.parse(opts.key ?? env.TEST_ACCESS_SIGNING_JWK) as JWK;
  const key = await importJWK(jwk, "RS256");
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: jwk.kid ?? "" })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUD)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "5m")
    .sign(key);
}

/** A browser behind Access: every request carries the assertion Access adds. */
function behindAccess(assertion: string) {
  const b = new ConsoleBrowser(accessEnv);
  const get = (path: string) => b.get(path, { "cf-access-jwt-assertion": assertion });
  const post = (path: string, form: Record<string, string> = {}) => b.post(path, form, { "cf-access-jwt-assertion": assertion });
  return { b, get, post };
}

describe("console behind Cloudflare Access", () => {
  it("takes the operator from a valid JWT: no password sign-in, forms work with the CSRF token, changes audited under the email", async () => {
    const ops = behindAccess(await jwt({ email: "ops@example.com" }));
    const page = await ops.get("/admin/endpoints");
    expect(page.status).toBe(200);
    expect(page.html).toContain("ops@example.com");
    const login = await ops.get("/admin/login");
    expect(login.status).toBe(303);
    expect(login.location).toBe("/admin/");
    expect((await ops.b.request("POST", "/admin/login", { form: { name: "default", secret: "x" } })).status).toBe(403);

    await ops.get("/admin/endpoints/new");
    const name = `acc-${crypto.randomUUID().slice(0, 8)}`;
    const created = await ops.post("/admin/endpoints", { name, timeoutSeconds: "30" });
    expect(created.status).toBe(303);
    const audit = await env.DB.prepare("SELECT actor FROM audit_log WHERE action = 'endpoint.create' AND endpoint = ?").bind(name).first();
    expect(audit).toEqual({ actor: "ops@example.com" });
    // Still CSRF-checked.
    expect((await ops.post("/admin/endpoints", { name: `${name}x`, _csrf: "" })).status).toBe(403);
  });

  it("a session cookie from one Access identity is not another's", async () => {
    const alice = behindAccess(await jwt({ email: "alice@example.com" }));
    await alice.get("/admin/endpoints");
    const token = alice.b.csrfToken();
    // Bob's request with Alice's cookie and token: the console starts Bob's own session, Alice's token is worthless.
    const bobJwt = await jwt({ email: "bob@example.com" });
    const res = await alice.b.post("/admin/endpoints", { name: "bob-ep", _csrf: token }, { "cf-access-jwt-assertion": bobJwt });
    expect(res.status).toBe(403);
  });

  it.each([
    ["no assertion", async () => ""],
    ["an expired JWT", async () => jwt({ email: "ops@example.com" }, { exp: Math.floor(Date.now() / 1000) - 3600 })],
    ["another application's audience", async () => jwt({ email: "ops@example.com" }, { aud: "b".repeat(64) })],
    ["another team's issuer", async () => jwt({ email: "ops@example.com" }, { iss: "https://evil.cloudflareaccess.com" })],
    ["a key not in the team's JWKS", async () => jwt({ email: "ops@example.com" }, { key: env.TEST_ACCESS_OTHER_JWK })],
    ["alg none", async () => unsigned({ alg: "none" })],
    ["HS256 keyed with the public key's modulus", async () => hs256()],
    ["no email claim", async () => jwt({ sub: "service-token" })],
    ["garbage", async () => "not.a.jwt"],
  ])("refuses %s with 403", async (_what, make) => {
    const ops = behindAccess(await make());
    const page = await ops.get("/admin/endpoints");
    expect(page.status).toBe(403);
    expect(page.html).toContain("Cloudflare Access did not vouch");
    expect(ops.b.cookies.size).toBe(0);
    // Not even the sign-in page: with Access there is no password sign-in.
    expect((await ops.get("/admin/login")).status).toBe(403);
  });

  it("validates its configuration and names the variable", () => {
    expect(accessConfigFromEnv({})).toBeNull();
    expect(accessConfigFromEnv({ ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD.toUpperCase() })).toEqual({
      issuer: ISSUER,
      aud: AUD,
      certsUrl: `${ISSUER}/cdn-cgi/access/certs`,
    });
    const bad: [Record<string, string>, RegExp][] = [
      [{ ACCESS_TEAM_DOMAIN: TEAM }, /ACCESS_AUD must be set/],
      [{ ACCESS_AUD: AUD }, /ACCESS_TEAM_DOMAIN must be set/],
      [{ ACCESS_TEAM_DOMAIN: "evil.com/x", ACCESS_AUD: AUD }, /ACCESS_TEAM_DOMAIN must be <team>\.cloudflareaccess\.com/],
      [{ ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: "short" }, /ACCESS_AUD must be .* 64 hex/],
      [
        { ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD, ACCESS_CERTS_URL: "https://attacker.example/certs" },
        /ACCESS_CERTS_URL may only name a local test JWKS/,
      ],
      [{ ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD, ACCESS_CERTS_URL: "http://10.0.0.1/certs" }, /ACCESS_CERTS_URL may only/],
    ];
    for (const [e, message] of bad) expect(() => accessConfigFromEnv(e)).toThrow(message);
    expect(() => accessConfigFromEnv({ ACCESS_TEAM_DOMAIN: TEAM })).toThrow(ConsoleConfigError);
  });

  it("a misconfigured Access setting fails closed with 500, never open", async () => {
    const b = new ConsoleBrowser({ ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: "" });
    const res = await b.get("/admin/endpoints", { "cf-access-jwt-assertion": await jwt({ email: "ops@example.com" }) });
    expect(res.status).toBe(500);
    expect((await b.get("/admin/login")).status).toBe(500);
  });
});

function unsigned(header: Record<string, unknown>): string {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  const now = Math.floor(Date.now() / 1000);
  return `${enc(header)}.${enc({ email: "ops@example.com", iss: ISSUER, aud: AUD, iat: now, exp: now + 300 })}.`;
}

/** The classic key-confusion forgery: HMAC keyed with public material. */
async function hs256(): Promise<string> {
  const pub = JSON.parse(env.TEST_ACCESS_SIGNING_JWK) as JWK;
  const secret = new TextEncoder().encode(pub.n ?? "");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: "ops@example.com" })
    .setProtectedHeader({ alg: "HS256", kid: pub.kid ?? "" })
    .setIssuer(ISSUER)
    .setAudience(AUD)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(secret);
}
