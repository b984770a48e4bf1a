/** Where the admin API lives: workers/routes/admin-api.ts serves it, cli/admin.ts calls it. */
export const ADMIN_API_BASE = "/admin/v1";
