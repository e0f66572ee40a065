import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Only migrations not yet applied are applied, so this is safe to run before every file.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
