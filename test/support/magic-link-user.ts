import type { RecordedRequest } from "../../harness/recorded-request.ts";

/** Plays the phone user from Node: finds the SMS, opens the link, answers like a browser. */
export async function waitForSms(requests: RecordedRequest[], to: string, timeoutMs = 15_000, after = 0): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = requests.filter((r) => r.to === to && r.receivedAt >= after).at(-1);
    if (hit?.text) return hit.text;
    if (Date.now() > until) throw new Error(`no SMS to ${to} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A magic link as the SMS carries it: the origin, then /m/ and the 256-bit token in base64url. */
export const LINK_PATTERN = /https?:\/\/\S+\/m\/[A-Za-z0-9_-]{43}/;

export function linkIn(text: string): string {
  const link = text.match(LINK_PATTERN)?.[0];
  if (!link) throw new Error(`no magic link in: ${text}`);
  return link;
}

/** A message in the dev server's SMS outbox (`npm run dev`): its text and the link it holds, if any. */
export interface OutboxMessage {
  link: string;
  text: string;
}

/** The dev outbox's messages to `to`, newest first. */
export async function devOutbox(devUrl: string, to: string): Promise<OutboxMessage[]> {
  const res = await fetch(`${devUrl}/dev/outbox.json?to=${encodeURIComponent(to)}`);
  return ((await res.json()) as { messages: OutboxMessage[] }).messages;
}

/**
 * The newest message to `to` that `pick` finds something in (what it found), ignoring the
 * `skip` oldest: waits for it.
 */
export async function fromDevOutbox<T>(
  devUrl: string,
  to: string,
  pick: (m: OutboxMessage) => T | undefined,
  skip = 0,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const messages = await devOutbox(devUrl, to);
    for (const m of messages.slice(0, Math.max(0, messages.length - skip))) {
      const found = pick(m);
      if (found !== undefined && found !== "") return found;
    }
    if (Date.now() > until) throw new Error(`no such SMS to ${to} in the dev outbox within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The newest magic link the dev server's SMS outbox holds for `to`, waiting for it. */
export function devOutboxLink(devUrl: string, to: string, timeoutMs = 10_000): Promise<string> {
  return fromDevOutbox(devUrl, to, (m) => m.text.match(LINK_PATTERN)?.[0], 0, timeoutMs);
}

export async function answerLink(link: string, decision: "accept" | "reject"): Promise<number> {
  const html = await (await fetch(link)).text();
  const csrf = html.match(/name="csrf" value="([^"]+)"/)?.[1];
  if (!csrf) throw new Error(`approval page without form: ${html.slice(0, 300)}`);
  const res = await fetch(link, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(link).origin },
    body: new URLSearchParams({ decision, csrf }),
  });
  return res.status;
}
