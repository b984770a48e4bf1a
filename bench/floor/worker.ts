import { Hono } from "hono";
import { choreography } from "./choreography";

export { FloorSession } from "./choreography";

/**
 * Two floors in one Worker: /instant/api/sfwa/auth answers at once (same route shape and
 * response as the Magic Link API, minus everything it does); everything else is the
 * same-choreography floor (choreography.ts).
 */
const app = new Hono();
app.get("/instant/api/sfwa/auth", (c) => c.json({ code: "TOUCH_ACCEPTED" }));
app.route("/", choreography);
export default app;
