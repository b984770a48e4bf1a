import { Hono } from "hono";
import { outboxMessages } from "../domain/dev-outbox";
import { OutboxPage } from "../pages/outbox";

/** Dev outbox (DEMO_MODE only): what the "outbox" SMS provider kept instead of sending. */
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
