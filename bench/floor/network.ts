/**
 * The network work every Magic Link floor does the same way (choreography.ts, guarantees.ts):
 * the link token, the SMS POST to the "phone" gateway, and the link page's form. One copy, so
 * the floors differ only in what they add around it.
 */

/** A random 43-character base64url link token (32 bytes), as the product's links carry. */
export function linkToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** POSTs the SMS with the link to the gateway; whether the gateway took it. */
export async function sendSms(gatewayUrl: string, msisdn: string, link: string): Promise<boolean> {
  const res = await fetch(gatewayUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ to: msisdn, message: `Sign in\n${link}` }),
  });
  await res.arrayBuffer();
  return res.ok;
}

/** The link page: a form with the CSRF field and the two answers. */
export function answerForm(csrf: string): string {
  return `<!doctype html><form method="post"><input type="hidden" name="csrf" value="${csrf}"><button name="decision" value="accept">Accept</button><button name="decision" value="reject">Reject</button></form>`;
}
