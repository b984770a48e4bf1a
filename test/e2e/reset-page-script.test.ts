import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { compactDecrypt, exportJWK, generateKeyPair } from "jose";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_JWE_ALG } from "../../core/contracts/reset-secret.ts";
import { DEFAULT_PASSWORD_POLICY } from "../../core/password-policy.ts";
import { RESET_JS } from "../../workers/generated/client-assets.ts";
import { launchChromium } from "../support/browser.ts";

/**
 * Issue 13: the reset page's password form in a real browser, served as the edge serves it
 * (the same page component, the same bundled script, the same CSP), by a local server that
 * records what the browser posts. The whole reset through `npm run dev` needs the relay link;
 * this proves the part only a browser can: what leaves the page is a JWE that the relay's key
 * opens, never the password, and the courtesy checks stop a bad password before it is sent.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const USERNAME = "alice";

let server: Server;
let base: string;
let browser: Browser;
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
const posts: string[] = [];

/**
 * The edge's own page component and stylesheet. Loaded by path: vitest compiles the JSX, while
 * the Node typecheck (no JSX there) does not follow it; the props are ResetPasswordPage's.
 */
type PageModule = { ResetPasswordPage: (props: Record<string, unknown>) => { toString(): string | Promise<string> } };
type LayoutModule = { APP_CSS: string };
const pageModule = (path: string) => import(/* @vite-ignore */ path);

beforeAll(async () => {
  const pair = await generateKeyPair(RESET_JWE_ALG, { crv: "P-256", extractable: true });
  privateKey = pair.privateKey;
  const { kty, crv, x, y } = await exportJWK(pair.publicKey);
  const { ResetPasswordPage } = (await pageModule("../../workers/pages/reset.tsx")) as PageModule;
  const { APP_CSS } = (await pageModule("../../workers/pages/layout.tsx")) as LayoutModule;
  const page = `${await ResetPasswordPage({
    action: "/reset",
    flow: "flow-token-1",
    username: USERNAME,
    encryptionJwk: { kty, crv, x, y },
    policy: DEFAULT_PASSWORD_POLICY,
    exp: Math.floor(Date.now() / 1000) + 600,
    message: null,
  }).toString()}`;
  server = createServer((req, res) => {
    const send = (type: string, body: string) => {
      res.writeHead(200, { "content-type": type, "content-security-policy": CSP });
      res.end(body);
    };
    if (req.method === "POST") {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        posts.push(body);
        send("text/html", "<!doctype html><p>received</p>");
      });
      return;
    }
    if (req.url === "/assets/reset.js") return send("text/javascript", RESET_JS);
    if (req.url === "/assets/app.css") return send("text/css", APP_CSS);
    return send("text/html; charset=utf-8", page);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

async function fillAndSubmit(first: string, second: string) {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${base}/reset`);
  // The script enables the button once it has loaded (the CSP let it run).
  await page.waitForSelector("#reset-submit:not([disabled])");
  await page.fill("#new-password", first);
  await page.fill("#confirm-password", second);
  await page.click("#reset-submit");
  return { page, errors };
}

describe("the reset page's script in Chromium", () => {
  it("stops a breached password and a mismatch on the page: nothing is posted", async () => {
    const before = posts.length;
    const breached = await fillAndSubmit("Password123!", "Password123!");
    await breached.page.waitForSelector("#problems li");
    expect(await breached.page.textContent("#problems")).toContain("leaked or common");
    const mismatch = await fillAndSubmit("Violet-kettle-47-orbits", "Violet-kettle-47-orbit");
    await mismatch.page.waitForSelector("#problems li");
    expect(await mismatch.page.textContent("#problems")).toContain("not the same");
    expect(posts.length).toBe(before);
    expect([...breached.errors, ...mismatch.errors]).toEqual([]);
  });

  it("posts only the flow token and a JWE that the relay's key opens to the password", async () => {
    const password = "Violet-kettle-47-orbits ✓";
    const { page, errors } = await fillAndSubmit(password, password);
    await page.waitForSelector("text=received");
    const body = posts.at(-1) ?? "";
    const form = new URLSearchParams(body);
    expect([...form.keys()].sort()).toEqual(["flow", "jwe", "step"]);
    expect(form.get("flow")).toBe("flow-token-1");
    expect(body).not.toContain(encodeURIComponent(password).slice(0, 12));
    expect(body).not.toContain("Violet");
    const { plaintext, protectedHeader } = await compactDecrypt(form.get("jwe") ?? "", privateKey);
    expect(protectedHeader).toMatchObject({ alg: "ECDH-ES", enc: "A256GCM" });
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toMatchObject({ v: 1, u: USERNAME, p: password });
    expect(errors).toEqual([]);
  });
});
