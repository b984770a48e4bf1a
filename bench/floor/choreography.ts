import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

/**
 * The same-choreography floor: the network work of one Magic Link authentication and nothing
 * else. The blocking call is held in memory by one Durable Object per session, which POSTs the
 * SMS with the link to the same "phone" gateway, serves the link page (a form) and takes the
 * answer POST, which resolves the held call. No storage, limits, alarms, logs or validation
 * beyond parsing: what is left is the Worker, the DO hops and the HTTP round trips.
 */
interface FloorEnv {
  FLOOR_SESSION: DurableObjectNamespace<FloorSession>;
  SMS_HTTP_URL: string;
}

export class FloorSession extends DurableObject<FloorEnv> {
  #resolve: ((code: string) => void) | null = null;
  #csrf = "";

  /** Sends the SMS, then holds the call until the answer arrives. */
  async auth(msisdn: string, link: string, csrf: string): Promise<string> {
    this.#csrf = csrf;
    const answered = new Promise<string>((resolve) => {
      this.#resolve = resolve;
    });
    const res = await fetch(this.env.SMS_HTTP_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ to: msisdn, message: `Sign in\n${link}` }),
    });
    await res.arrayBuffer();
    if (!res.ok) return "FAILED_DELIVERY";
    return answered;
  }

  page(): string {
    return this.#csrf;
  }

  answer(decision: string): boolean {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.(decision === "accept" ? "TOUCH_ACCEPTED" : "TOUCH_REJECTED");
    return resolve !== null;
  }
}

const token = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
};
const session = (env: FloorEnv, t: string) => env.FLOOR_SESSION.get(env.FLOOR_SESSION.idFromName(t));

export const choreography = new Hono<{ Bindings: FloorEnv }>();

choreography.get("/api/sfwa/auth", async (c) => {
  const t = token();
  const code = await session(c.env, t).auth(c.req.query("msisdn") ?? "", `${new URL(c.req.url).origin}/m/${t}`, token());
  return c.json({ code });
});

choreography.get("/m/:token", async (c) => {
  const csrf = await session(c.env, c.req.param("token")).page();
  return c.html(
    `<!doctype html><form method="post"><input type="hidden" name="csrf" value="${csrf}"><button name="decision" value="accept">Accept</button><button name="decision" value="reject">Reject</button></form>`,
  );
});

choreography.post("/m/:token", async (c) => {
  const form = await c.req.parseBody();
  const ok = await session(c.env, c.req.param("token")).answer(String(form.decision));
  return c.html(ok ? "<p>Done</p>" : "<p>Link already used</p>", ok ? 200 : 410);
});
