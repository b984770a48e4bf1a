import type { z } from "zod";
import { EndpointSettingsSchema, type EndpointSettings } from "../config/schema";
import { loadConfig } from "../config/load";
import { randomToken, sha256Hex } from "../../core/tokens";
import { adminAuditStatement, type AdminAudit } from "../store/audit";
import {
  createEndpointStatement,
  deleteEndpointStatements,
  getEndpoint,
  insertTokenStatement,
  replaceTokenHashStatement,
  revokeTokenStatement,
  updateEndpointStatement,
  type EndpointRow,
} from "../store/endpoints";

/**
 * Operator changes to D1-held endpoints and their API tokens. Each change and its audit row
 * (under the acting admin's name) are one D1 batch, so one transaction: no change without its
 * row, no row without its change.
 */

/** The audit row of a change, for its batch; written only if the statement before it changed a row. */
const auditStatement = (db: D1Database, actor: string, action: string, fields: Omit<AdminAudit, "actor" | "action">) =>
  adminAuditStatement(db, { actor, action, ...fields }, { ifChanged: true });

export type EndpointCreate = { kind: "created"; row: EndpointRow | null } | { kind: "in_config" } | { kind: "exists" };

export async function createEndpoint(env: Env, actor: string, name: string, settings: EndpointSettings): Promise<EndpointCreate> {
  // Endpoints from MFA_CONFIG are changed in the deployment config, never here.
  if (loadConfig(env).endpoints.some((e) => e.name === name)) return { kind: "in_config" };
  const [created] = await env.DB.batch([
    createEndpointStatement(env.DB, name, settings, Date.now()),
    auditStatement(env.DB, actor, "endpoint.create", { endpoint: name, detail: settings }),
  ]);
  if (created?.meta.changes !== 1) return { kind: "exists" };
  return { kind: "created", row: await getEndpoint(env.DB, name) };
}

export type EndpointUpdate = { kind: "updated"; row: EndpointRow | null } | { kind: "not_found" } | { kind: "invalid"; error: z.ZodError };

/**
 * Partial update: given fields replace the stored ones (texts merge key by key, for the admin
 * API's PATCH; `texts: "replace"` for the console's form, which sends every text, so one
 * cleared there is cleared). The merged result is validated as a whole, so defaults never
 * overwrite what was not sent.
 */
export async function updateEndpoint(
  env: Env,
  actor: string,
  name: string,
  patch: Record<string, unknown>,
  opts: { texts: "merge" | "replace" } = { texts: "merge" },
): Promise<EndpointUpdate> {
  const row = await getEndpoint(env.DB, name);
  if (!row) return { kind: "not_found" };
  const texts =
    opts.texts === "merge" && typeof patch.texts === "object" && patch.texts !== null
      ? { ...row.settings.texts, ...patch.texts }
      : patch.texts;
  const merged = EndpointSettingsSchema.strict().safeParse({ ...row.settings, ...patch, ...(texts !== undefined ? { texts } : {}) });
  if (!merged.success) return { kind: "invalid", error: merged.error };
  await env.DB.batch([
    updateEndpointStatement(env.DB, name, merged.data, Date.now()),
    auditStatement(env.DB, actor, "endpoint.update", { endpoint: name, detail: patch }),
  ]);
  return { kind: "updated", row: await getEndpoint(env.DB, name) };
}

/** Deletes the endpoint and its tokens; false when there was no such endpoint. */
export async function deleteEndpoint(env: Env, actor: string, name: string): Promise<boolean> {
  const [, deleted] = await env.DB.batch([
    ...deleteEndpointStatements(env.DB, name),
    auditStatement(env.DB, actor, "endpoint.delete", { endpoint: name }),
  ]);
  return deleted?.meta.changes === 1;
}

/** The secret: 256 random bits, shown once. Stored only as SHA-256. */
async function newSecret(): Promise<{ secret: string; sha256: string }> {
  const secret = randomToken(32);
  return { secret, sha256: await sha256Hex(secret) };
}

/** A new API token for the endpoint (null when there is no such endpoint); its secret is returned once. */
export async function createApiToken(
  env: Env,
  actor: string,
  endpoint: string,
  token: { name: string; expires: string | null },
): Promise<{ id: string; secret: string } | null> {
  if (!(await getEndpoint(env.DB, endpoint))) return null;
  const { secret, sha256 } = await newSecret();
  const id = crypto.randomUUID();
  await env.DB.batch([
    insertTokenStatement(env.DB, { id, endpoint, name: token.name, sha256, expires: token.expires, created_at: Date.now() }),
    auditStatement(env.DB, actor, "token.create", { endpoint, detail: { id, name: token.name, expires: token.expires } }),
  ]);
  return { id, secret };
}

/** False when there is no such active token. */
export async function revokeApiToken(env: Env, actor: string, endpoint: string, id: string): Promise<boolean> {
  const [revoked] = await env.DB.batch([
    revokeTokenStatement(env.DB, endpoint, id, Date.now()),
    auditStatement(env.DB, actor, "token.revoke", { endpoint, detail: { id } }),
  ]);
  return revoked?.meta.changes === 1;
}

/** A new secret for an active token (the old one stops working); null when there is no such active token. */
export async function regenerateApiToken(env: Env, actor: string, endpoint: string, id: string): Promise<{ secret: string } | null> {
  const { secret, sha256 } = await newSecret();
  const [replaced] = await env.DB.batch([
    replaceTokenHashStatement(env.DB, endpoint, id, sha256),
    auditStatement(env.DB, actor, "token.regenerate", { endpoint, detail: { id } }),
  ]);
  return replaced?.meta.changes === 1 ? { secret } : null;
}
