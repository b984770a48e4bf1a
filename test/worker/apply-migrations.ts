import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Every test file starts from a database with all migrations applied, as `npm run dev` does.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
