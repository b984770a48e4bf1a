/** The local fake Graph's fixed data (harness/fake-graph.ts), importable from workerd tests (no node:*). */
export const FAKE_GRAPH = {
  tenant: "contoso.test",
  clientId: "edge-mfa-app",
  clientSecret: "graph-client-secret-for-tests",
  groups: {
    /**
     * Six entries: three users with a usable mobile (in three spellings), one without, one
     * national number, and a nested group. Any group id starting with "1" has these members,
     * so each test can use an id (and so an edge cache entry) of its own: approverGroupId().
     */
    approvers: "11111111-1111-4111-8111-111111111111",
    /** Graph answers 500. */
    broken: "55555555-5555-4555-8555-555555555555",
    /** The first page's nextLink leaves for another origin (localhost instead of 127.0.0.1). */
    escaping: "66666666-6666-4666-8666-666666666666",
  },
} as const;

/** A fresh group id with the approvers' members. */
export function approverGroupId(): string {
  const hex = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `1${hex.slice(1, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface GraphRequest {
  method: string;
  host: string;
  path: string;
  authorized: boolean;
}
