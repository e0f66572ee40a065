// Grants or removes the ADMIN role of a user in the local (or, with --remote, the deployed) D1 database.
import { parseArgs } from "node:util";
import { ROLE_FOR_COMMAND, roleChangeOutcome, roleChangeStatements, type Command, type ResultSet } from "./role-change";
import { DATABASE, fail, wrangler } from "./wrangler";

const USAGE = `Usage: npm run admin -- <promote|demote> <email> [--remote]

  promote <email>   give the user the ADMIN role
  demote <email>    give the user the USER role
  --remote          change the deployed database instead of the local one
  --help            show this help

Every request reads the caller's role from D1, so the change applies at once, even to tokens
already issued. The change is recorded in the audit log (GET /admin/audit) with no actor.
The last admin cannot be demoted: promote another user first.`;

const isCommand = (word: string | undefined): word is Command => word !== undefined && Object.hasOwn(ROLE_FOR_COMMAND, word);

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
  const { status, stdout } = wrangler(
    ["d1", "execute", DATABASE, remote ? "--remote" : "--local", "--json", "--command", roleChangeStatements(command, email).join("\n")],
    { captureStdout: true },
  );
  if (status !== 0) fail(`wrangler d1 execute failed (exit code ${status}).\n${stdout.trim()}`);

  const outcome = roleChangeOutcome(command, email, JSON.parse(stdout) as ResultSet[]);
  if (!outcome.ok) fail(outcome.message);
  const { user } = outcome;
  console.log(`User ${user.email} (id ${user.id}) now has role ${user.role}.`);
  console.log("Every request reads the role from D1, so this applies now, also to tokens already issued.");
}

main();
