// Prepares local development: .dev.vars, local D1 migrations and demo data. Safe to run again.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { hashPassword } from "../src/auth/password";
import type { Role } from "../src/db/schema";
import { toUtcIso as utcIso } from "../src/db/time";
import { DEMO_ACCOUNTS } from "./demo-accounts";
import { completeDevVars } from "./dev-vars";
import { DATABASE, fail, projectRoot, sqlString, wrangler } from "./wrangler";

const USAGE = `Usage: npm run setup [-- --help]

Prepares the local development environment; running it again changes nothing:
  1. adds to .dev.vars what it lacks: a random JWT_SECRET; and, only when it creates the file,
     WEBHOOKS_ALLOW_LOOPBACK=true (webhooks may then point to a receiver on http://127.0.0.1, see
     npm run webhook-receiver; delete the line to check webhook URLs as a deployment does)
  2. applies the D1 migrations to the local database
  3. adds a demo admin, a demo user and, unless upcoming slots exist, a week of slots`;

/** The default categories inserted by migrations/0001_initial.sql. */
const CATEGORIES = ["Fitness", "Consultation", "Workshop", "Venue"];
const SLOT_HOURS_UTC = [9, 12, 17];
const CAPACITIES = [5, 8, 10, 12, 15, 18, 20];
const SEED_DAYS = 7;
const HOUR_MS = 3_600_000;
const BASE_URL = "http://localhost:8787";

/**
 * Seed SQL that is safe to run any number of times: users are inserted unless their email exists,
 * and slots for the SEED_DAYS days after `today` only while no upcoming, non-deleted slot exists.
 */
function seedSql(users: { email: string; passwordHash: string; role: Role }[], today: Date): string {
  const userRows = users.map(
    (user) => `(${sqlString(user.email)}, ${sqlString(user.passwordHash)}, ${sqlString(user.role)}, ${sqlString(utcIso(today))})`,
  );
  const slotRows: string[] = [];
  for (let day = 1; day <= SEED_DAYS; day++) {
    for (const hour of SLOT_HOURS_UTC) {
      const start = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + day, hour));
      const end = new Date(start.getTime() + HOUR_MS);
      for (const category of CATEGORIES) {
        const capacity = CAPACITIES[slotRows.length % CAPACITIES.length];
        slotRows.push(`(${sqlString(category)}, ${sqlString(utcIso(start))}, ${sqlString(utcIso(end))}, ${capacity})`);
      }
    }
  }
  return `INSERT OR IGNORE INTO users (email, password_hash, role, created_at) VALUES
  ${userRows.join(",\n  ")};

WITH seed (category, start_time, end_time, max_capacity) AS (VALUES
  ${slotRows.join(",\n  ")}
)
INSERT INTO time_slots (category_id, start_time, end_time, max_capacity)
SELECT categories.id, seed.start_time, seed.end_time, seed.max_capacity
  FROM seed JOIN categories ON categories.name = seed.category
 WHERE NOT EXISTS (
   SELECT 1 FROM time_slots AS existing
    WHERE existing.deleted_at IS NULL AND existing.start_time > strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
 );
`;
}

async function seed(): Promise<void> {
  const users = await Promise.all(
    DEMO_ACCOUNTS.map(async ({ email, password, role }) => ({ email, role, passwordHash: await hashPassword(password) })),
  );
  const directory = mkdtempSync(join(tmpdir(), "slotbook-seed-"));
  const file = join(directory, "seed.sql");
  let status: number;
  try {
    writeFileSync(file, seedSql(users, new Date()));
    ({ status } = wrangler(["d1", "execute", DATABASE, "--local", "--file", file]));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  if (status !== 0) fail(`Seeding the local database failed (wrangler exited with ${status}).`);
}

function wantsHelp(): boolean {
  try {
    return parseArgs({ options: { help: { type: "boolean", short: "h" } } }).values.help ?? false;
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
}

async function main(): Promise<void> {
  if (wantsHelp()) {
    console.log(USAGE);
    return;
  }

  completeDevVars(join(projectRoot, ".dev.vars"));

  const { status } = wrangler(["d1", "migrations", "apply", DATABASE, "--local"]);
  if (status !== 0) fail(`Applying the local D1 migrations failed (wrangler exited with ${status}).`);

  await seed();

  console.log(`
Local setup done. Start the API with \`npm start\`, then open:
  Page  ${BASE_URL}/
  API   ${BASE_URL}
  Docs  ${BASE_URL}/docs

Demo accounts:`);
  for (const { email, password, role } of DEMO_ACCOUNTS) console.log(`  ${role.padEnd(5)}  ${email}  password: ${password}`);
}

await main();
