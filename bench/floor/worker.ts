import { Hono } from "hono";

// Same route shape and response as the Magic Link API, minus everything it does.
const app = new Hono();
app.get("/api/sfwa/auth", (c) => c.json({ code: "TOUCH_ACCEPTED" }));
export default app;
