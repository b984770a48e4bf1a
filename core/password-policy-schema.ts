import { z } from "zod";
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from "./password-policy.ts";

/** The password policy as operators configure it (edge endpoint `reset.policy`, relay `passwordReset.policy`). */
export const PasswordPolicySchema = z.object({
  minLength: z.number().int().min(8).max(128).default(DEFAULT_PASSWORD_POLICY.minLength),
  maxLength: z.number().int().min(16).max(512).default(DEFAULT_PASSWORD_POLICY.maxLength),
  minClasses: z.number().int().min(1).max(4).default(DEFAULT_PASSWORD_POLICY.minClasses),
  forbidUsername: z.boolean().default(DEFAULT_PASSWORD_POLICY.forbidUsername),
}) satisfies z.ZodType<PasswordPolicy, unknown>;
