import { z } from "zod";

/** 400 of the admin and relay APIs (routes/validate.tsx issueList): what was wrong, field by field. */
export const InvalidRequestSchema = z
  .object({
    error: z.literal("invalid request"),
    issues: z.array(z.string()).meta({ example: ["msisdn: msisdn must be E.164, e.g. +46701234567"] }),
  })
  .meta({ id: "InvalidRequest" });

/** Any other refusal of the admin and relay APIs: a message for people, not for parsing. */
export const ErrorSchema = z.object({ error: z.string() }).meta({ id: "Error" });
