import { Hono } from "hono";
import type { ConsoleEnv } from "./context";

/** Console: the audit log with filters and paging (mounted at /admin/audit). Under construction (#15). */
export const consoleAudit = new Hono<ConsoleEnv>();
