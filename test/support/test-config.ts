import { createHash } from "node:crypto";

import { KEYS } from "./keys.ts";

/** The MFA_CONFIG the worker tests run with (hashes computed in Node, passed as a binding). */

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export const TEST_CONFIG = {
  defaultEndpoint: "default",
  rateLimit: { perMinute: 1000, perHour: 10000 },
  overload: { maxPending: 1000, shards: 4 },
  tombstoneSeconds: 600,
  // Low, so the cap on devices per number is quick to reach.
  maxDevicesPerNumber: 3,
  // Activation started in the app: the "app" endpoint's title and rate limit apply.
  appActivation: { endpoint: "app", ipLimit: { perMinute: 3, perHour: 10 } },
  endpoints: [
    {
      name: "default",
      // The offline-code API (/api/offline/*) is tested through this endpoint; "other" did not opt in.
      offlineCodes: true,
      apiKeys: [
        { name: "main", sha256: sha256(KEYS.default), expires: "2999-12-31" },
        { name: "old", sha256: sha256(KEYS.expired), expires: "2020-01-31" },
      ],
    },
    { name: "other", apiKeys: [{ name: "other", sha256: sha256(KEYS.other) }], texts: { title: "Other app" } },
    {
      name: "strict",
      apiKeys: [{ name: "strict", sha256: sha256(KEYS.strict) }],
      rateLimit: { perMinute: 2, perHour: 3 },
    },
    // Authenticator app: activation offered, push first with a short grace period.
    { name: "app", apiKeys: [{ name: "app", sha256: sha256(KEYS.app) }], enableActivation: true, pushGraceSeconds: 2 },
    {
      name: "app-nm",
      apiKeys: [{ name: "app-nm", sha256: sha256(KEYS.appNm) }],
      enableActivation: true,
      numberMatching: true,
      pushGraceSeconds: 2,
    },
    // Accepts in the app need user verification (WebAuthn); devices without it: refused, or a tap.
    {
      name: "app-uv",
      apiKeys: [{ name: "app-uv", sha256: sha256(KEYS.appUv) }],
      enableActivation: true,
      pushGraceSeconds: 2,
      appApproval: "user-verification",
      uvFallback: "refuse",
    },
    {
      name: "app-uv-tap",
      apiKeys: [{ name: "app-uv-tap", sha256: sha256(KEYS.appUvTap) }],
      enableActivation: true,
      pushGraceSeconds: 2,
      appApproval: "user-verification",
      uvFallback: "tap",
    },
    { name: "no-push", apiKeys: [{ name: "no-push", sha256: sha256(KEYS.noPush) }], enableActivation: true, usePush: false },
    // Assisted Login: the user picks an approver, who must accept too (tests swap the list).
    {
      name: "assisted",
      apiKeys: [{ name: "assisted", sha256: sha256(KEYS.assisted) }],
      texts: { title: "ACME VPN" },
      assistedLogin: {
        approvers: [
          { name: "Alice Admin", msisdn: "+46700000011" },
          { name: "Bob Helpdesk", msisdn: "+46700000022" },
        ],
      },
    },
  ],
};
