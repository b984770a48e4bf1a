import { Hono } from "hono";
import type { ConsoleEnv } from "./context";

/** Console: the dashboard with charts of authentications and latency (mounted at /admin/, "/"). Under construction (#15). */
export const consoleDashboard = new Hono<ConsoleEnv>();
