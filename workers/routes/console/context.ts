import type { Hono } from "hono";

/**
 * What every admin console sub-app sees (set by the console's sign-in middleware in
 * index.tsx before any sub-app runs): the signed-in operator's name, used as the actor of
 * every audited change, and the CSRF token every form must carry back (CsrfField).
 */
export type ConsoleEnv = { Bindings: Env; Variables: { operator: string; csrfToken: string } };
export type ConsoleApp = Hono<ConsoleEnv>;
