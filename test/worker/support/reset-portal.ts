import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { compactDecrypt, CompactEncrypt, exportJWK, generateKeyPair, importJWK } from "jose";
import type { LinkArgs, LinkOp, LinkResult } from "../../../core/contracts/relay-link";
import { RESET_JWE_ALG, RESET_JWE_ENC, type ResetSecret } from "../../../core/contracts/reset-secret";
import { RelayLinkError } from "../../../workers/domain/relay-link";
import type { RelayAsk } from "../../../workers/domain/reset-relay";
import { resetPortal } from "../../../workers/routes/reset";
import { freshMsisdn } from "./magic-link";

/**
 * Worker tests as the reset portal's visitor and its relay: a portal app with a fake RelayAsk
 * (the relay link's stand-in), which holds the site's encryption key like a real relay and
 * decrypts every JWE it gets, so a test sees exactly what reached the relay.
 */
export const ORIGIN = "https://mfa.example.com";

export interface DirectoryEntry {
  msisdn?: string;
  displayName?: string;
  /** The account's name as the directory holds it (the lookup may have matched another attribute). */
  username?: string;
}

export type ChangeAnswer = LinkResult<"password.change">;

export class FakeRelay {
  readonly calls: Array<{ site: string; op: LinkOp; args: unknown }> = [];
  /** What the relay decrypted from each password.change (the test's view of "only the relay sees it"). */
  readonly secrets: ResetSecret[] = [];
  users = new Map<string, DirectoryEntry>();
  answers: ChangeAnswer[] = [];
  down = false;
  /** Thrown by the next password.change after the relay got it (an answer lost: timeout, link closed). */
  loseNextAnswer: RelayLinkError | null = null;

  constructor(readonly privateKey: CryptoKey) {}

  readonly ask: RelayAsk = async <O extends LinkOp>(site: string, op: O, args: LinkArgs<O>): Promise<LinkResult<O>> => {
    this.calls.push({ site, op, args });
    if (this.down) throw new RelayLinkError("no_relay", "no relay of this site is connected");
    if (op === "user.lookup") {
      const { username } = args as LinkArgs<"user.lookup">;
      const u = this.users.get(username);
      return (u ? { found: true, ...u } : { found: false }) as LinkResult<O>;
    }
    if (op === "password.change") {
      const { jwe } = args as LinkArgs<"password.change">;
      const { plaintext, protectedHeader } = await compactDecrypt(jwe, this.privateKey);
      if (protectedHeader.alg !== RESET_JWE_ALG || protectedHeader.enc !== RESET_JWE_ENC) throw new Error("unexpected JWE algorithms");
      this.secrets.push(JSON.parse(new TextDecoder().decode(plaintext)) as ResetSecret);
      const lost = this.loseNextAnswer;
      this.loseNextAnswer = null;
      if (lost) throw lost;
      return (this.answers.shift() ?? { changed: true }) as LinkResult<O>;
    }
    throw new Error(`unsupported op ${op}`);
  };
}

export interface Portal {
  relay: FakeRelay;
  approvers: Array<{ name: string; msisdn: string }>;
  fetch(
    path: string,
    init?: { method?: string; form?: Record<string, string>; cookie?: string | null; ip?: string; origin?: string },
  ): Promise<Response>;
  publicJwk: Record<string, string>;
}

/** A portal on endpoint "reset" (site "hq") with fresh approvers and its own limits. */
export async function portal(reset: Record<string, unknown> = {}): Promise<Portal> {
  const { privateKey, publicKey } = await generateKeyPair(RESET_JWE_ALG, { crv: "P-256", extractable: true });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const publicJwk = { kty: kty ?? "", crv: crv ?? "", x: x ?? "", y: y ?? "" };
  const approvers = [
    { name: "Alice Admin", msisdn: freshMsisdn() },
    { name: "Bob Helpdesk", msisdn: freshMsisdn() },
  ];
  const base = JSON.parse(env.MFA_CONFIG) as { endpoints: unknown[] };
  const config = {
    ...base,
    endpoints: [
      ...base.endpoints,
      { name: "reset", usePush: false, reset: { approvers, site: "hq", perUsername: { perMinute: 50, perHour: 500 }, ...reset } },
    ],
    relays: [{ name: "hq-1", publicJwk, endpoint: "reset", site: "hq", encryptionJwk: publicJwk }],
  };
  const relay = new FakeRelay(privateKey as CryptoKey);
  const app = new Hono<{ Bindings: Env }>();
  app.route(
    "/reset",
    resetPortal(() => relay.ask),
  );
  const testEnv = { ...env, MFA_CONFIG: JSON.stringify(config) } as Env;
  return {
    relay,
    approvers,
    publicJwk,
    async fetch(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.cookie) headers.cookie = `__Host-edge-mfa-reset=${init.cookie}`;
      if (init.ip) headers["cf-connecting-ip"] = init.ip;
      let body: URLSearchParams | undefined;
      if (init.form) {
        headers["content-type"] = "application/x-www-form-urlencoded";
        headers.origin = init.origin ?? ORIGIN;
        body = new URLSearchParams(init.form);
      }
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request(`${ORIGIN}${path}`, { method: init.method ?? (body ? "POST" : "GET"), headers, body }),
        testEnv,
        ctx,
      );
      // The lookup and SMS run after the response: let them finish, as the runtime would.
      await waitOnExecutionContext(ctx);
      return res;
    },
  };
}

/** The reset cookie's value from a response. */
export function cookieOf(res: Response): string | null {
  return res.headers.get("set-cookie")?.match(/__Host-edge-mfa-reset=([^;]+)/)?.[1] ?? null;
}

/** The password form's data: flow token, key, deadline and username, as the page's script reads them. */
export function passwordForm(html: string) {
  const attr = (name: string) => {
    const raw = html.match(new RegExp(`${name}="([^"]*)"`))?.[1];
    if (raw === undefined) throw new Error(`no ${name} on the page`);
    return raw.replaceAll("&quot;", '"').replaceAll("&amp;", "&");
  };
  return {
    flow: html.match(/name="flow" value="([^"]+)"/)?.[1] ?? "",
    jwk: JSON.parse(attr("data-jwk")) as Record<string, string>,
    exp: Number(attr("data-exp")),
    username: attr("data-username"),
  };
}

/** What client/reset.ts does: the secret encrypted to the page's key. */
export async function encryptLikeThePage(form: ReturnType<typeof passwordForm>, password: string, overrides: Partial<ResetSecret> = {}) {
  const secret: ResetSecret = { v: 1, u: form.username, p: password, exp: form.exp, ...overrides };
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(secret)))
    .setProtectedHeader({ alg: RESET_JWE_ALG, enc: RESET_JWE_ENC })
    .encrypt(await importJWK(form.jwk, RESET_JWE_ALG));
}
