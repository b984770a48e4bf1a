import { EndpointSettingsSchema, type ApiKey, type Endpoint, type EndpointSettings } from "../config/schema";

/**
 * D1 repository of operator-managed endpoints and their API tokens. Settings are stored as
 * JSON and re-validated with the same zod schema on the way out, so a row written by an
 * older version can never smuggle in an invalid value.
 */
export interface TokenRow {
  id: string;
  endpoint: string;
  name: string;
  expires: string | null;
  created_at: number;
  revoked_at: number | null;
}

export interface EndpointRow {
  name: string;
  settings: EndpointSettings;
  created_at: number;
  updated_at: number;
}

function parseSettings(json: string): EndpointSettings {
  return EndpointSettingsSchema.parse(JSON.parse(json));
}

export async function listEndpoints(db: D1Database): Promise<EndpointRow[]> {
  const { results } = await db
    .prepare("SELECT name, settings, created_at, updated_at FROM endpoints ORDER BY name")
    .all<Record<string, unknown>>();
  return results.map((r) => ({ ...(r as unknown as EndpointRow), settings: parseSettings(r.settings as string) }));
}

export async function getEndpoint(db: D1Database, name: string): Promise<EndpointRow | null> {
  const r = await db
    .prepare("SELECT name, settings, created_at, updated_at FROM endpoints WHERE name = ?")
    .bind(name)
    .first<Record<string, unknown>>();
  return r ? { ...(r as unknown as EndpointRow), settings: parseSettings(r.settings as string) } : null;
}

/*
 * Writes are prepared statements, so the admin API runs each change in one D1 batch with its
 * audit row (store/audit.ts adminAuditStatement). Each says which result shows the change.
 */

/** Creates the endpoint; no change (0 rows) if the name is taken. */
export function createEndpointStatement(db: D1Database, name: string, settings: EndpointSettings, now: number): D1PreparedStatement {
  return db
    .prepare("INSERT INTO endpoints (name, settings, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING")
    .bind(name, JSON.stringify(settings), now, now);
}

export function updateEndpointStatement(db: D1Database, name: string, settings: EndpointSettings, now: number): D1PreparedStatement {
  return db.prepare("UPDATE endpoints SET settings = ?, updated_at = ? WHERE name = ?").bind(JSON.stringify(settings), now, name);
}

/** Two statements: the tokens, then the endpoint (its result tells whether it existed). */
export function deleteEndpointStatements(db: D1Database, name: string): [D1PreparedStatement, D1PreparedStatement] {
  // Tokens go with it (explicitly: D1 enforces foreign keys, but be independent of pragmas).
  return [
    db.prepare("DELETE FROM api_tokens WHERE endpoint = ?").bind(name),
    db.prepare("DELETE FROM endpoints WHERE name = ?").bind(name),
  ];
}

export function insertTokenStatement(db: D1Database, row: Omit<TokenRow, "revoked_at"> & { sha256: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO api_tokens (id, endpoint, name, sha256, expires, created_at) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(row.id, row.endpoint, row.name, row.sha256, row.expires, row.created_at);
}

export function revokeTokenStatement(db: D1Database, endpoint: string, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE api_tokens SET revoked_at = ? WHERE endpoint = ? AND id = ? AND revoked_at IS NULL").bind(now, endpoint, id);
}

/** Replaces a live token's secret in place (same id, name and expiry); the old secret stops working. */
export function replaceTokenHashStatement(db: D1Database, endpoint: string, id: string, sha256: string): D1PreparedStatement {
  return db.prepare("UPDATE api_tokens SET sha256 = ? WHERE endpoint = ? AND id = ? AND revoked_at IS NULL").bind(sha256, endpoint, id);
}

export async function listTokens(db: D1Database, endpoint: string): Promise<TokenRow[]> {
  const { results } = await db
    .prepare("SELECT id, endpoint, name, expires, created_at, revoked_at FROM api_tokens WHERE endpoint = ? ORDER BY created_at, id")
    .bind(endpoint)
    .all<TokenRow>();
  return results;
}

/** Live (not revoked) tokens of an endpoint, as the API-key check wants them. */
export async function activeKeys(db: D1Database, endpoint: string): Promise<ApiKey[]> {
  const { results } = await db
    .prepare("SELECT name, sha256, expires FROM api_tokens WHERE endpoint = ? AND revoked_at IS NULL")
    .bind(endpoint)
    .all<{ name: string; sha256: string; expires: string | null }>();
  return results.map((r) => ({ name: r.name, sha256: r.sha256, ...(r.expires ? { expires: r.expires } : {}) }));
}

/** Endpoint by name: static (MFA_CONFIG) wins, else D1; keys from both are accepted. */
export async function resolveEndpoint(db: D1Database, staticEndpoints: Endpoint[], name: string): Promise<Endpoint | null> {
  const fromConfig = staticEndpoints.find((e) => e.name === name);
  const [row, keys] = await Promise.all([fromConfig ? null : getEndpoint(db, name), activeKeys(db, name)]);
  if (fromConfig) return { ...fromConfig, apiKeys: [...fromConfig.apiKeys, ...keys] };
  return row ? { name, ...row.settings, apiKeys: keys } : null;
}
