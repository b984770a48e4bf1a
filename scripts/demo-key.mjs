// Keep in sync with DEMO_API_KEY in workers/config/load.ts (a test checks they match).
export const DEMO_API_KEY = "c3859cad-479a-4d65-9253-459ea4a12b34";
