import type { Page } from "playwright-core";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";

/**
 * Signs `page` in to the admin console of a `npm run dev` server (DEMO_MODE: operator "demo"
 * with the demo admin token) through the sign-in form, as an operator would. Resolves once the
 * console has taken the operator past the sign-in page.
 */
export async function signInToConsole(page: Page, baseUrl: string, operator = { name: "demo", secret: DEMO_ADMIN_TOKEN }): Promise<void> {
  await page.goto(`${baseUrl}/admin/login`);
  await page.fill('input[name="name"]', operator.name);
  await page.fill('input[name="secret"]', operator.secret);
  await Promise.all([page.waitForURL((url) => url.pathname !== "/admin/login"), page.click('button[type="submit"]')]);
}
