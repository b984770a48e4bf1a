import { zValidator } from "@hono/zod-validator";
import type { Context, ValidationTargets } from "hono";
import type { z } from "zod";

/** A 400 listing what was wrong, field by field. */
export function invalidRequest(c: Context, error: z.ZodError, where: string): Response {
  return c.json({ error: "invalid request", issues: error.issues.map((i) => `${i.path.join(".") || where}: ${i.message}`) }, 400);
}

/** zod validation for JSON APIs, answering invalidRequest instead of hono's bare error. */
export function validated<T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success) return invalidRequest(c, result.error as unknown as z.ZodError, target);
  });
}
