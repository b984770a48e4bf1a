import { Hono } from "hono";
import { outboxMessages } from "../domain/dev-outbox";
import { OutboxPage } from "../pages/outbox";
import { ApiReferencePage, API_REFERENCE_CSP, API_REFERENCE_START } from "../pages/api-reference";

/**
 * DEMO_MODE only: the dev outbox (what the "outbox" SMS provider kept instead of sending), and
 * the API reference page (swagger-ui over /openapi.json; its files come from `npm run dev`).
 */
export const dev = new Hono<{ Bindings: Env }>();

dev.use(async (c, next) => {
  if (c.env.DEMO_MODE !== "true") return c.notFound();
  await next();
});

dev.get("/outbox", async (c) => {
  const messages = await outboxMessages(c.env);
  return c.html(<OutboxPage messages={messages} />);
});

dev.get("/outbox.json", async (c) => {
  const messages = await outboxMessages(c.env, c.req.query("to"));
  return c.json({ messages });
});

dev.get("/api", (c) => {
  c.header("content-security-policy", API_REFERENCE_CSP);
  return c.html(<ApiReferencePage />);
});

dev.get("/api/start.js", (c) => c.body(API_REFERENCE_START, 200, { "content-type": "text/javascript; charset=utf-8" }));
