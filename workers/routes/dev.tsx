import { Hono } from "hono";
import { OutboxPage } from "../pages/outbox";

/** Dev outbox (DEMO_MODE only): what the "outbox" SMS provider kept instead of sending. */
export const dev = new Hono<{ Bindings: Env }>();

dev.use(async (c, next) => {
  if (c.env.DEMO_MODE !== "true") return c.notFound();
  await next();
});

dev.get("/outbox", async (c) => {
  const messages = await c.env.DEV_OUTBOX.getByName("outbox").list();
  return c.html(<OutboxPage messages={messages} />);
});

dev.get("/outbox.json", async (c) => {
  const messages = await c.env.DEV_OUTBOX.getByName("outbox").list(c.req.query("to"));
  return c.json({ messages });
});
