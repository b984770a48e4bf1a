/**
 * The dev-only API reference page (GET /dev/api, DEMO_MODE) and the swagger-ui files it loads.
 * The Worker serves the page and its small start script; `npm run dev` (scripts/dev.mjs)
 * serves the swagger-ui-dist files as wrangler dev static assets under ASSETS_PATH, so the
 * 1.5 MB bundle never enters the Worker bundle that is deployed.
 */
export const API_REFERENCE_PATH = "/dev/api";
export const API_REFERENCE_ASSETS_PATH = "/dev/api/swagger";
/** The files of swagger-ui-dist the page needs. */
export const API_REFERENCE_FILES = ["swagger-ui-bundle.js", "swagger-ui.css"] as const;
