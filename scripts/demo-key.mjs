// Keep in sync with DEMO_API_KEY in workers/config/load.ts (a test checks they match).
export const DEMO_API_KEY = "c3859cad-479a-4d65-9253-459ea4a12b34";
// Keep in sync with DEMO_ADMIN_TOKEN in workers/lib/admin-auth.ts (a test checks they match).
export const DEMO_ADMIN_TOKEN = "demo-admin-token-not-for-production";
