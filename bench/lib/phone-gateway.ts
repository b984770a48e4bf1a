import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describeFailure } from "./sections.ts";

/**
 * An SMS gateway that is also the phone: every SMS with a magic link is kept, and in
 * "instant" mode answered at once (open the page, post Accept) like a user who taps
 * immediately. Real HTTP on both sides, the same as a person with a browser.
 */
export interface PhoneGateway {
  url: string;
  links: Map<string, string>;
  /** In "instant" mode, per number: when its SMS arrived, its page was read and its answer was taken (performance.now()). */
  steps: Map<string, PhoneSteps>;
  server: Server;
  answer: (link: string, decision?: "accept" | "reject") => Promise<number>;
}

export interface PhoneSteps {
  sms: number;
  page?: number;
  answered?: number;
}

export async function answerLink(link: string, decision: "accept" | "reject" = "accept", steps?: PhoneSteps): Promise<number> {
  const html = await (await fetch(link)).text();
  if (steps) steps.page = performance.now();
  const csrf = html.match(/name="csrf" value="([^"]+)"/)?.[1];
  if (!csrf) return 0;
  const res = await fetch(link, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(link).origin },
    body: new URLSearchParams({ decision, csrf }),
  });
  await res.arrayBuffer();
  if (steps) steps.answered = performance.now();
  return res.status;
}

export async function startPhoneGateway(mode: "instant" | "hold", { keepAlive = true } = {}): Promise<PhoneGateway> {
  const links = new Map<string, string>();
  const steps = new Map<string, PhoneSteps>();
  const server = createServer((req, res) => {
    if (!keepAlive) res.setHeader("connection", "close");
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end('{"status":"created"}');
      try {
        const { to, message } = JSON.parse(body) as { to: string; message: string };
        // A link token, and where the merged floor puts it the number's object's id after a dot.
        const link = message.match(/https?:\/\/\S+\/m\/[A-Za-z0-9_-]{43}(?:\.[0-9a-f]{64})?/)?.[0];
        if (!link) return;
        links.set(to, link);
        // A failed answer (the dev server went away mid-run) fails the running benchmark with
        // this reason (bench/lib/sections.ts), rather than a bare "terminated" from undici.
        const step: PhoneSteps = { sms: performance.now() };
        if (mode === "instant") steps.set(to, step);
        if (mode === "instant")
          void answerLink(link, "accept", step).catch((e: unknown) => {
            throw new Error(`the phone could not answer its link: ${describeFailure(e)}`);
          });
      } catch {
        /* not ours */
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, links, steps, server, answer: answerLink };
}
