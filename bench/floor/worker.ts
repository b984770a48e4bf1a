import { Hono } from "hono";
import { choreography } from "./choreography";
import { guarantees } from "./guarantees";
import { merged } from "./merged";

export { FloorSession } from "./choreography";
export { GuardEntries, GuardSession } from "./guarantees";
export { MergedNumber } from "./merged";

/**
 * Four floors in one Worker: /instant/api/sfwa/auth answers at once (same route shape and
 * response as the Magic Link API, minus everything it does); /guarded/... is the guarantees
 * floor (guarantees.ts); /merged/... the same guarantees with a number's sessions in the
 * number's object (merged.ts); everything else is the same-choreography floor (choreography.ts).
 */
const app = new Hono();
app.get("/instant/api/sfwa/auth", (c) => c.json({ code: "TOUCH_ACCEPTED" }));
app.route("/guarded", guarantees);
app.route("/merged", merged);
app.route("/", choreography);
export default app;
