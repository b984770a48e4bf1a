import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { answerLink, devOutboxLink } from "../support/magic-link-user.ts";

/** `npm run admin` against `npm run dev`: manage an endpoint and its token, then use it. */
let dev: DevServer;

beforeAll(async () => {
  dev = await startDevServer();
});
afterAll(async () => {
  await dev?.stop();
});

async function cli(...args: string[]): Promise<{ code: number | null; json: any; stderr: string }> {
  return cliWith({ EDGE_MFA_ADMIN_TOKEN: DEMO_ADMIN_TOKEN }, args);
}

async function cliWith(
  env: Record<string, string>,
  args: string[],
  stdin?: string,
): Promise<{ code: number | null; json: any; stderr: string }> {
  const child = spawn("npm", ["run", "--silent", "admin", "--", ...args], {
    env: { ...process.env, EDGE_MFA_ADMIN_TOKEN: "", EDGE_MFA_URL: dev.url, ...env },
  });
  child.stdin.end(stdin ?? "");
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  const text = code === 0 ? out : err;
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* usage errors are plain text */
  }
  return { code, json, stderr: err };
}

describe("admin CLI against wrangler dev", () => {
  it("creates an endpoint and a token that the Magic Link API then accepts; revoke makes it BAD_REQUEST", async () => {
    const created = await cli("endpoints", "create", "webshop", "--timeout", "60", "--title", "Webshop login", "--rate", "5/30");
    expect(created.code).toBe(0);
    expect(created.json.settings).toMatchObject({
      timeoutSeconds: 60,
      texts: { title: "Webshop login" },
      rateLimit: { perMinute: 5, perHour: 30 },
    });

    const token = await cli("tokens", "create", "webshop", "shop-backend", "--expires", "31-12-2099");
    expect(token.code).toBe(0);
    expect(token.json.expires).toBe("2099-12-31");
    const secret = token.json.secret as string;

    const msisdn = `+4670${Math.floor(1e6 + Math.random() * 8e6)}`;
    const api = fetch(`${dev.url}/api/sfwa/auth/webshop?msisdn=${encodeURIComponent(msisdn)}`, { headers: { "api-key": secret } }).then(
      (r) => r.json(),
    );
    const link = await devOutboxLink(dev.url, msisdn);
    expect(await (await fetch(link)).text()).toContain("Webshop login");
    await answerLink(link, "accept");
    expect(await api).toEqual({ code: "TOUCH_ACCEPTED" });

    const listed = await cli("tokens", "list", "webshop");
    expect(listed.json.tokens).toHaveLength(1);
    expect(JSON.stringify(listed.json)).not.toContain(secret);
    expect((await cli("tokens", "revoke", "webshop", token.json.id)).code).toBe(0);
    const refused = await fetch(`${dev.url}/api/sfwa/auth/webshop?msisdn=${encodeURIComponent(msisdn)}`, {
      headers: { "api-key": secret },
    });
    expect(await refused.json()).toEqual({ code: "BAD_REQUEST" });

    const audit = await cli("audit", "--endpoint", "webshop");
    const actions = audit.json.entries.map((e: { kind: string; action: string | null; result: string | null }) => e.action ?? e.result);
    expect(actions).toEqual(expect.arrayContaining(["endpoint.create", "token.create", "token.revoke", "TOUCH_ACCEPTED", "BAD_REQUEST"]));
  });

  it("reports errors: bad token, unknown command, invalid settings", async () => {
    // (A wrong token used to be passed with --token: tokens no longer go on the command line.)
    expect((await cliWith({ EDGE_MFA_ADMIN_TOKEN: "wrong" }, ["endpoints", "list"])).code).toBe(1);
    const unknown = await cli("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const invalid = await cli("endpoints", "create", "bad", "--timeout", "5");
    expect(invalid.code).toBe(1);
    expect(JSON.stringify(invalid.json)).toContain("timeoutSeconds");
  });

  it("takes the token from a file or stdin, never from the command line, and only over https or loopback", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-mfa-cli-"));
    const file = join(dir, "token");
    writeFileSync(file, `${DEMO_ADMIN_TOKEN}\n`, { mode: 0o600 });
    expect((await cliWith({}, ["--token-file", file, "endpoints", "list"])).code).toBe(0);
    expect((await cliWith({}, ["--token-stdin", "endpoints", "list"], `${DEMO_ADMIN_TOKEN}\n`)).code).toBe(0);
    const flag = await cliWith({}, ["--token", DEMO_ADMIN_TOKEN, "endpoints", "list"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("shell history");
    const clear = await cliWith({ EDGE_MFA_ADMIN_TOKEN: DEMO_ADMIN_TOKEN, EDGE_MFA_URL: "http://mfa.example.com" }, ["endpoints", "list"]);
    expect(clear.code).toBe(2);
    expect(clear.stderr).toContain("https://");
  });

  it("enrolls and removes a TOTP token", async () => {
    const enrolled = await cli("totp", "enroll", "+46709998877");
    expect(enrolled.code).toBe(0);
    expect(enrolled.json.uri).toMatch(/^otpauth:\/\/totp\//);
    expect((await cli("subscribers", "show", "+46709998877")).json.totp).toBe(true);
    expect((await cli("totp", "remove", "+46709998877")).code).toBe(0);
    expect((await cli("subscribers", "show", "+46709998877")).json.totp).toBe(false);
  });
});
