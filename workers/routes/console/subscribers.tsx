import { Hono } from "hono";
import type { ConsoleEnv } from "./context";

/** Console: subscribers, their devices and TOTP tokens (mounted at /admin/subscribers). Under construction (#15). */
export const consoleSubscribers = new Hono<ConsoleEnv>();
