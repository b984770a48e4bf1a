/**
 * Which hosts the Worker sends Web Push to. A subscription is whatever URL the device
 * registered, so without a list the Worker could be made to POST to any host (an internal
 * service, a metadata endpoint). Pure: the list is built once from the env var and checked
 * at registration (app API) and before every send.
 */

/** The browsers' push services: Chrome/Android (FCM), Firefox, Safari/Apple, Edge/Windows. */
export const DEFAULT_PUSH_HOSTS = [
  "fcm.googleapis.com",
  "updates.push.services.mozilla.com",
  "*.push.apple.com",
  "*.notify.windows.com",
] as const;

const HOST_PATTERN = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/;

export class PushHostConfigError extends Error {
  override name = "PushHostConfigError";
}

/** The defaults plus PUSH_HOST_ALLOWLIST (comma-separated hosts; `*.example.com` for subdomains). */
export function pushHosts(extra: string | undefined): string[] {
  const added = (extra ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const bad = added.filter((h) => !HOST_PATTERN.test(h));
  if (bad.length)
    throw new PushHostConfigError(`PUSH_HOST_ALLOWLIST: not a host name: ${bad.join(", ")} (use e.g. push.example.com or *.example.com)`);
  return [...DEFAULT_PUSH_HOSTS, ...added];
}

export function pushHostsFromEnv(env: Pick<Env, "PUSH_HOST_ALLOWLIST">): string[] {
  return pushHosts(env.PUSH_HOST_ALLOWLIST);
}

/** https, and a host that is listed (`*.x` matches subdomains of x, not x itself). */
export function isAllowedPushEndpoint(endpoint: string, hosts: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" || url.username || url.password) return false;
  const host = url.hostname.toLowerCase();
  return hosts.some((h) => (h.startsWith("*.") ? host.endsWith(h.slice(1)) && host.length > h.length - 1 : host === h));
}
