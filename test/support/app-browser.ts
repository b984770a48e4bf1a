import type { Browser, BrowserContext } from "playwright-core";

/** A push subscription at the local fake push service (harness/fake-push-service.ts). */
export interface FakeSubscription {
  endpoint: string;
  keys: unknown;
}

/**
 * A browser profile for the authenticator app at `origin`, notifications allowed, whose
 * PushManager hands out `subscription` at the local fake push service: the browser's own push
 * service is out of reach offline, and the Worker's real pushes must arrive where the test reads
 * them.
 */
export async function phoneContext(browser: Browser, origin: string, subscription: FakeSubscription): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: origin });
  await context.grantPermissions(["notifications"], { origin });
  await context.addInitScript(
    (json) => {
      // Runs in the page; this file is typed for Node, hence the cast.
      const fake = { endpoint: json.endpoint, expirationTime: null, toJSON: () => json };
      const pm = (globalThis as unknown as { PushManager: { prototype: Record<string, unknown> } }).PushManager;
      pm.prototype.subscribe = async () => fake;
      pm.prototype.getSubscription = async () => fake;
    },
    { endpoint: subscription.endpoint, expirationTime: null, keys: subscription.keys },
  );
  return context;
}

/** The admin API of a dev server with the demo admin token: status and JSON body (null if none). */
export async function devAdminCall(devUrl: string, adminToken: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${devUrl}/admin/v1/${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, any> | null };
}
