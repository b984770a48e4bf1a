import { env } from "cloudflare:workers";
import { Hono } from "hono";
import type { ConsoleEnv } from "../../../workers/routes/console/context";
import { consoleAudit } from "../../../workers/routes/console/audit";
import { consoleDashboard } from "../../../workers/routes/console/dashboard";
import { consoleSubscribers } from "../../../workers/routes/console/subscribers";

/**
 * The console's data sub-apps mounted as the console mounts them, behind a stand-in for its
 * sign-in middleware that sets the operator and CSRF token (the real sign-in is tested with it).
 */
export const OPERATOR = "alice";
export const CSRF = "csrf-token-for-tests";

const app = new Hono<ConsoleEnv>();
app.use(async (c, next) => {
  c.set("operator", OPERATOR);
  c.set("csrfToken", CSRF);
  await next();
});
app.route("/admin/subscribers", consoleSubscribers);
app.route("/admin/audit", consoleAudit);
app.route("/admin/", consoleDashboard);

export function consoleFetch(path: string, init?: RequestInit): Promise<Response> {
  return Promise.resolve(app.fetch(new Request(`https://mfa.example.com${path}`, init), env));
}

export async function consoleGet(path: string): Promise<{ status: number; html: string; res: Response }> {
  const res = await app.fetch(new Request(`https://mfa.example.com${path}`), env);
  return { status: res.status, html: await res.text(), res };
}

/** A form post as the browser sends it (with the CSRF field). */
export async function consolePost(path: string, fields: Record<string, string>): Promise<Response> {
  const body = new URLSearchParams({ _csrf: CSRF, ...fields });
  return app.fetch(
    new Request(`https://mfa.example.com${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    }),
    env,
  );
}

/** Every POST form of a page carries the CSRF field with the session's token. */
export function postFormsCarryCsrf(html: string): boolean {
  const forms = html.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g) ?? [];
  return forms.length > 0 && forms.every((f) => f.includes(`name="_csrf" value="${CSRF}"`));
}

/** The newest admin audit rows with this action. */
export async function adminRows(action: string): Promise<Array<{ actor: string; msisdn: string | null; detail: string | null }>> {
  const { results } = await env.DB.prepare(
    "SELECT actor, msisdn, detail FROM audit_log WHERE kind = 'admin' AND action = ? ORDER BY id DESC",
  )
    .bind(action)
    .all<{ actor: string; msisdn: string | null; detail: string | null }>();
  return results;
}
