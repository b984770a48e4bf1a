import { sha256Hex, timingSafeEqualString } from "./tokens";

/** Demo admin token, accepted only with DEMO_MODE=true (printed by `npm run dev`). */
export const DEMO_ADMIN_TOKEN = "demo-admin-token-not-for-production";

/**
 * Admin requests carry `Authorization: Bearer <token>`; the Worker holds only the token's
 * SHA-256 (secret ADMIN_TOKEN_SHA256) and compares in constant time.
 */
export async function isAdmin(env: Pick<Env, "DEMO_MODE">, authorization: string | undefined): Promise<boolean> {
  const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
  if (!token) return false;
  const presented = await sha256Hex(token);
  const configured = (env as unknown as { ADMIN_TOKEN_SHA256?: string }).ADMIN_TOKEN_SHA256;
  if (configured && (await timingSafeEqualString(presented, configured.toLowerCase()))) return true;
  return env.DEMO_MODE === "true" && (await timingSafeEqualString(presented, await sha256Hex(DEMO_ADMIN_TOKEN)));
}
