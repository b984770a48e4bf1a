import { z } from "zod";
import { sha256Hex } from "../../core/tokens";

/** Demo admin token, accepted only with DEMO_MODE=true (printed by `npm run dev`). */
export const DEMO_ADMIN_TOKEN = "demo-admin-token-not-for-production";

/** Name the ADMIN_TOKEN_SHA256 secret's token acts under (one-token deployments keep working). */
export const DEFAULT_ADMIN_NAME = "default";

export class AdminConfigError extends Error {
  override name = "AdminConfigError";
}

const Sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, "sha256 must be 64 hex characters")
  .transform((s) => s.toLowerCase());

/** ADMIN_TOKENS (secret, JSON): every operator's own token, by name; only SHA-256 hashes. */
export const AdminTokensSchema = z
  .array(
    z.object({ name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, "names are 1-64 of A-Z a-z 0-9 . _ @ -"), sha256: Sha256Hex }).strict(),
  )
  .refine((t) => new Set(t.map((x) => x.name)).size === t.length, "admin token names must be unique");
export type AdminToken = z.output<typeof AdminTokensSchema>[number];

type AdminEnv = Pick<Env, "DEMO_MODE"> & { ADMIN_TOKENS?: string; ADMIN_TOKEN_SHA256?: string };

/** The configured admin tokens: ADMIN_TOKENS, plus ADMIN_TOKEN_SHA256 as "default", plus the demo token in DEMO_MODE. */
export async function adminTokensFromEnv(env: AdminEnv): Promise<AdminToken[]> {
  const tokens: AdminToken[] = [];
  if (env.ADMIN_TOKENS?.trim()) {
    let json: unknown;
    try {
      json = JSON.parse(env.ADMIN_TOKENS);
    } catch {
      throw new AdminConfigError("ADMIN_TOKENS is not valid JSON");
    }
    const r = AdminTokensSchema.safeParse(json);
    if (!r.success) throw new AdminConfigError(`ADMIN_TOKENS is invalid: ${z.prettifyError(r.error)}`);
    tokens.push(...r.data);
  }
  if (env.ADMIN_TOKEN_SHA256?.trim()) {
    const r = Sha256Hex.safeParse(env.ADMIN_TOKEN_SHA256.trim());
    if (!r.success) throw new AdminConfigError("ADMIN_TOKEN_SHA256 must be 64 hex characters");
    if (tokens.some((t) => t.name === DEFAULT_ADMIN_NAME))
      throw new AdminConfigError(`ADMIN_TOKENS must not name a token "${DEFAULT_ADMIN_NAME}" while ADMIN_TOKEN_SHA256 is set`);
    tokens.push({ name: DEFAULT_ADMIN_NAME, sha256: r.data });
  }
  if (env.DEMO_MODE === "true") tokens.push({ name: "demo", sha256: await sha256Hex(DEMO_ADMIN_TOKEN) });
  return tokens;
}

/**
 * The admin a presented token belongs to, or null. Every configured hash is compared in
 * constant time and the loop never exits early, so timing tells nothing about which
 * (or whether any) token matched.
 */
export function matchAdmin(presentedSha256: string, tokens: readonly AdminToken[]): string | null {
  const presented = hexBytes(presentedSha256);
  let name: string | null = null;
  for (const t of tokens) {
    if (crypto.subtle.timingSafeEqual(presented, hexBytes(t.sha256)) && name === null) name = t.name;
  }
  return name;
}

/** `Authorization: Bearer <token>` → the admin's name, or null. */
export async function adminFromRequest(env: AdminEnv, authorization: string | undefined): Promise<string | null> {
  const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
  if (!token) return null;
  return matchAdmin(await sha256Hex(token), await adminTokensFromEnv(env));
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
