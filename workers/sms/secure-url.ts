import { z } from "zod";
import { isHttpsOrLoopback } from "../../core/loopback";

/**
 * Gateway and provider URLs carry the message (link included) and the gateway credentials:
 * https only; plain http only to loopback, where the tests' local gateway runs.
 */
export const GatewayUrlSchema = z
  .url({ protocol: /^https?$/ })
  .refine(isHttpsOrLoopback, "must be an https:// URL (plain http only to localhost / 127.0.0.1 / ::1)");
