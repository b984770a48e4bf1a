/** API keys of the endpoints in test-config.ts (tests send these; the config holds hashes). */
export const KEYS = {
  default: "key-default-0123456789abcdef",
  other: "key-other-0123456789abcdef",
  expired: "key-expired-0123456789abcdef",
  strict: "key-strict-0123456789abcdef",
  app: "key-app-0123456789abcdef",
  appNm: "key-app-nm-0123456789abcdef",
  noPush: "key-no-push-0123456789abcdef",
  assisted: "key-assisted-0123456789abcdef",
  appUv: "key-app-uv-0123456789abcdef",
  appUvTap: "key-app-uv-tap-0123456789abcdef",
} as const;

/** The admin bearer token of the worker tests (the Worker holds only its SHA-256). */
export const ADMIN_TOKEN = "test-admin-token-0123456789";
