import { exports } from "cloudflare:workers";
import { answer, openLink, waitForLink } from "./magic-link";

/**
 * The Assisted Login pages as the user sees them: accepting on the SMS link page shows the
 * approvers offered (names and opaque ids only), and the user picks one.
 */
export function approverButtons(html: string): Array<{ id: string; name: string }> {
  return [...html.matchAll(/name="approver" value="([^"]*)"[^>]*>([^<]*)</g)].map((m) => ({ id: m[1] ?? "", name: m[2] ?? "" }));
}

/** The user accepts on the SMS link page (sent after `before` earlier SMS to them): the approvers they are offered. */
export async function userAccepts(msisdn: string, before = 0) {
  const link = await waitForLink(msisdn, 10_000, before);
  const page = await openLink(link);
  const csrf = page.csrf ?? "";
  const html = await (await answer(link, "accept", csrf)).text();
  return { link, csrf, html, buttons: approverButtons(html) };
}

/** The user picks `approver` (an id from the page, or any string an attacker posts). */
export const pick = (link: string, csrf: string, approver: string) =>
  exports.default.fetch(
    new Request(`${link}/approver`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(link).origin },
      body: new URLSearchParams({ csrf, approver }),
    }),
  );
