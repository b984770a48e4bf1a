import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";

const tooLarge = (c: Context) => c.json({ error: "request body too large" }, 413);

/** Caps a request body before anything parses it: 413 {"error":"request body too large"}. */
export const bodyCap = (maxBytes: number) => bodyLimit({ maxSize: maxBytes, onError: tooLarge });
