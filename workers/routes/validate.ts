import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";

/** zod validation for JSON APIs: a 400 listing what was wrong, instead of hono's bare error. */
export function validated<T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success) {
      return c.json(
        { error: "invalid request", issues: result.error.issues.map((i) => `${i.path.join(".") || target}: ${i.message}`) },
        400,
      );
    }
  });
}
