import { z } from "zod";
import type { EntraApproversSchema, Endpoint } from "../config/schema";
import { log } from "../lib/log";
import { E164, normalizeUsername } from "../../core/contracts/relay";
import { cachedApprovers } from "./approver-cache";
import { ApproverDirectoryUnavailable, findIn, memberId, type Approver, type ApproverDirectory } from "./approver-directory";

type EntraConfig = z.infer<typeof EntraApproversSchema>;

const TIMEOUT_MS = 5_000;
/** Pages of 999 members: ample for an approver group, and a bound on a misbehaving server. */
const MAX_PAGES = 10;
const MAX_MEMBERS = 1000;

const TokenAnswer = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().int().positive() });
const MembersPage = z.object({
  value: z.array(
    z
      .object({
        displayName: z.string().nullish(),
        mobilePhone: z.string().nullish(),
        userPrincipalName: z.string().nullish(),
        onPremisesSamAccountName: z.string().nullish(),
      })
      .loose(),
  ),
  "@odata.nextLink": z.string().optional(),
});

/** App tokens by tenant and client, until shortly before they expire (per isolate). */
const tokens = new Map<string, { token: string; until: number }>();

/** A directory phone number as E.164, or null: spaces, dashes, dots and brackets dropped; a national number is not guessed at. */
export function graphPhoneToE164(raw: string | null | undefined): string | null {
  // "+46 (0)70 ..." writes the national trunk prefix in brackets: it is not dialled from abroad.
  const n = (raw ?? "").replace("(0)", "").replace(/[\s\-.()]/g, "");
  return E164.test(n) ? n : null;
}

/**
 * The names an Entra user signs in under, as a reset or RADIUS login may give them: the UPN
 * (alice@example.com) and, for a user synced from AD, the sAMAccountName (alice).
 */
export function entraUsernames(m: { userPrincipalName?: string | null; onPremisesSamAccountName?: string | null }): string[] {
  const names = [m.userPrincipalName, m.onPremisesSamAccountName].map((n) => normalizeUsername(n ?? "")).filter((n) => n !== "");
  return [...new Set(names)];
}

/**
 * `assistedLogin: { source: "entra", ... }`: the members of an Entra ID group with a mobile
 * phone, read from Microsoft Graph with the app's client credentials (application permission
 * GroupMember.Read.All and User.Read.All). Base URLs are configurable (national clouds, the
 * tests' local fake); the bearer token goes only to graphBase's origin: a nextLink elsewhere
 * ends the listing as unavailable.
 */
export class EntraGroupDirectory implements ApproverDirectory {
  readonly #env: Env;

  constructor(env: Env) {
    this.#env = env;
  }

  async list(endpoint: Pick<Endpoint, "assistedLogin">): Promise<Approver[]> {
    const cfg = endpoint.assistedLogin;
    if (cfg?.source !== "entra") return [];
    return cachedApprovers(`entra\n${cfg.tenantId}\n${cfg.groupId}\n${cfg.graphBase}`, cfg.cacheSeconds, async () => {
      try {
        return await this.#members(cfg);
      } catch (e) {
        log.warn("approver_directory_unavailable", {
          source: "entra",
          tenant: cfg.tenantId,
          group: cfg.groupId,
          error: (e as Error).message,
        });
        throw new ApproverDirectoryUnavailable(`entra group ${cfg.groupId}: ${(e as Error).message}`);
      }
    });
  }

  find(endpoint: Pick<Endpoint, "assistedLogin">, id: string): Promise<Approver | null> {
    return findIn(this, endpoint, id);
  }

  async #members(cfg: EntraConfig): Promise<Approver[]> {
    const token = await this.#token(cfg);
    const graphOrigin = new URL(cfg.graphBase).origin;
    let url: string | undefined =
      `${cfg.graphBase}/v1.0/groups/${encodeURIComponent(cfg.groupId)}/members?$select=displayName,mobilePhone,userPrincipalName,onPremisesSamAccountName&$top=999`;
    const out: Approver[] = [];
    let skipped = 0;
    for (let page = 0; url && page < MAX_PAGES && out.length < MAX_MEMBERS; page++) {
      if (new URL(url).origin !== graphOrigin) throw new Error("Graph paging left the Graph origin");
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
        redirect: "manual",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (res.status !== 200) throw new Error(`Graph members answered ${res.status}`);
      const body = MembersPage.safeParse(await res.json().catch(() => null));
      if (!body.success) throw new Error("Graph members answer is not a members page");
      for (const m of body.data.value) {
        const msisdn = graphPhoneToE164(m.mobilePhone);
        // Only users (groups and devices have no userPrincipalName) with a usable mobile number.
        if (!m.userPrincipalName || !msisdn) {
          skipped++;
          continue;
        }
        if (out.length >= MAX_MEMBERS) break;
        const name = (m.displayName || m.userPrincipalName).slice(0, 100);
        out.push({ id: await memberId("entra", m.userPrincipalName), name, msisdn, usernames: entraUsernames(m) });
      }
      url = body.data["@odata.nextLink"];
    }
    if (skipped > 0) log.info("approver_directory_skipped", { source: "entra", group: cfg.groupId, skipped });
    return out;
  }

  async #token(cfg: EntraConfig): Promise<string> {
    const secret = (this.#env as unknown as Record<string, unknown>)[cfg.clientSecret.secret];
    if (typeof secret !== "string" || secret === "")
      throw new Error(`the Worker secret ${cfg.clientSecret.secret} (assistedLogin.clientSecret) is not set`);
    // Keyed by the secret too (memory only): a rotated or wrong secret never reuses another's token.
    const key = `${cfg.loginBase}\n${cfg.tenantId}\n${cfg.clientId}\n${secret}`;
    const hit = tokens.get(key);
    if (hit && hit.until > Date.now()) return hit.token;
    const res = await fetch(`${cfg.loginBase}/${encodeURIComponent(cfg.tenantId)}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: cfg.clientId,
        client_secret: secret,
        scope: `${cfg.graphBase}/.default`,
      }),
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    // The answer's body may echo request details: only the status is reported.
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
    const body = TokenAnswer.safeParse(await res.json().catch(() => null));
    if (!body.success) throw new Error("token endpoint answer has no access_token");
    tokens.set(key, { token: body.data.access_token, until: Date.now() + Math.max(0, body.data.expires_in - 60) * 1000 });
    return body.data.access_token;
  }
}
