// Grants or removes the ADMIN role of a user in the local (or, with --remote, the deployed) D1 database.
import { parseArgs } from "node:util";
import { DATABASE, fail, sqlString, wrangler } from "./wrangler";

const USAGE = `Usage: npm run admin -- <promote|demote> <email> [--remote]

  promote <email>   give the user the ADMIN role
  demote <email>    give the user the USER role
  --remote          change the deployed database instead of the local one
  --help            show this help

Every request reads the caller's role from D1, so the change applies at once, even to tokens
already issued. The change is recorded in the audit log (GET /admin/audit) with no actor.`;

const ROLE_FOR_COMMAND = { promote: "ADMIN", demote: "USER" } as const;
/** The audit_log action of each command, as the API's PUT /admin/users/{user_id}/role records it. */
const AUDIT_ACTION_FOR_COMMAND = { promote: "user.promote", demote: "user.demote" } as const;
type Command = keyof typeof ROLE_FOR_COMMAND;
const isCommand = (word: string | undefined): word is Command => word !== undefined && Object.hasOwn(ROLE_FOR_COMMAND, word);

/** One result set of `wrangler d1 execute --json`. */
type ResultSet = { results: { id: number; email: string; role: string }[] };

function parseCommandLine(): { help: true } | { help: false; command: Command; email: string; remote: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" }, remote: { type: "boolean" } },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
  if (parsed.values.help) return { help: true };

  const [command, rawEmail, ...extra] = parsed.positionals;
  if (!isCommand(command) || rawEmail === undefined || extra.length > 0) fail(USAGE, 2);
  const email = rawEmail.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail(`Not an email address: ${rawEmail}`, 2);
  return { help: false, command, email, remote: parsed.values.remote ?? false };
}

function main(): void {
  const options = parseCommandLine();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const { command, email, remote } = options;
  const role = sqlString(ROLE_FOR_COMMAND[command]);
  const user = `email = ${sqlString(email)}`;
  // One command, which wrangler runs as one batch (one transaction): the change and its audit
  // entry (actor NULL: done with wrangler) exist together or not at all. No entry when the user
  // already has the role, as through the API.
  const sql = `INSERT INTO audit_log (actor_id, action, target, before, after, created_at)
  SELECT NULL, ${sqlString(AUDIT_ACTION_FOR_COMMAND[command])}, 'user:' || id, json_object('role', role), json_object('role', ${role}),
         strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM users WHERE ${user} AND role <> ${role};
UPDATE users SET role = ${role} WHERE ${user} RETURNING id, email, role;`;
  const { status, stdout } = wrangler(
    ["d1", "execute", DATABASE, remote ? "--remote" : "--local", "--json", "--command", sql],
    { captureStdout: true },
  );
  if (status !== 0) fail(`wrangler d1 execute failed (exit code ${status}).\n${stdout.trim()}`);

  const changed = (JSON.parse(stdout) as ResultSet[]).flatMap((resultSet) => resultSet.results);
  if (changed.length === 0) fail(`No user with email ${email}`);
  for (const user of changed) console.log(`User ${user.email} (id ${user.id}) now has role ${user.role}.`);
  console.log("Every request reads the role from D1, so this applies now, also to tokens already issued.");
}

main();
