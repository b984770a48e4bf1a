import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { answerForm, linkToken, sendSms } from "./network";

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
    if (!(await sendSms(this.env.SMS_HTTP_URL, msisdn, link))) return "FAILED_DELIVERY";
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

const session = (env: FloorEnv, t: string) => env.FLOOR_SESSION.get(env.FLOOR_SESSION.idFromName(t));

export const choreography = new Hono<{ Bindings: FloorEnv }>();

choreography.get("/api/sfwa/auth", async (c) => {
  const t = linkToken();
  const code = await session(c.env, t).auth(c.req.query("msisdn") ?? "", `${new URL(c.req.url).origin}/m/${t}`, linkToken());
  return c.json({ code });
});

choreography.get("/m/:token", async (c) => {
  const csrf = await session(c.env, c.req.param("token")).page();
  return c.html(answerForm(csrf));
});

choreography.post("/m/:token", async (c) => {
  const form = await c.req.parseBody();
  const ok = await session(c.env, c.req.param("token")).answer(String(form.decision));
  return c.html(ok ? "<p>Done</p>" : "<p>Link already used</p>", ok ? 200 : 410);
});
