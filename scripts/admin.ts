// Organizer tasks with wrangler credentials instead of an API account, in the local (or, with
// --remote, the deployed) D1 database: grant or remove the ADMIN role, print a slot's roster.
import { parseArgs } from "node:util";
import { ROLE_FOR_COMMAND, roleChangeOutcome, roleChangeStatements, type Command, type ResultSet } from "./role-change";
import { rosterCsv, rosterOutcome, rosterStatements, rosterTable } from "./roster";
import { DATABASE, fail, wrangler } from "./wrangler";

const USAGE = `Usage: npm run admin -- <promote|demote> <email> [--remote]
       npm run admin -- roster <slot_id> [--csv] [--remote]

  promote <email>   give the user the ADMIN role
  demote <email>    give the user the USER role
  roster <slot_id>  print the slot's live entries (booked, held, waitlisted), as
                    GET /admin/slots/{slot_id}/bookings lists them; read-only
  --csv             the roster as CSV (RFC 4180, as the API's text/csv), e.g. > roster.csv
  --remote          use the deployed database instead of the local one
  --help            show this help

Every request reads the caller's role from D1, so a role change applies at once, even to tokens
already issued. It is recorded in the audit log (GET /admin/audit) with no actor.
The last admin cannot be demoted: promote another user first.`;

const isRoleCommand = (word: string | undefined): word is Command => word !== undefined && Object.hasOwn(ROLE_FOR_COMMAND, word);

type Task = { kind: "role"; command: Command; email: string } | { kind: "roster"; slotId: number; csv: boolean };

function parseCommandLine(): { help: true } | { help: false; task: Task; remote: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" }, remote: { type: "boolean" }, csv: { type: "boolean" } },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
  if (parsed.values.help) return { help: true };

  const [command, argument, ...extra] = parsed.positionals;
  const remote = parsed.values.remote ?? false;
  if (argument === undefined || extra.length > 0) fail(USAGE, 2);
  if (command === "roster") {
    if (!/^[1-9]\d{0,14}$/.test(argument)) fail(`Not a slot id: ${argument}`, 2);
    return { help: false, task: { kind: "roster", slotId: Number(argument), csv: parsed.values.csv ?? false }, remote };
  }
  if (!isRoleCommand(command) || parsed.values.csv) fail(USAGE, 2);
  const email = argument.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail(`Not an email address: ${argument}`, 2);
  return { help: false, task: { kind: "role", command, email }, remote };
}

/** Runs the statements in one `wrangler d1 execute` and returns their result sets. */
function execute(statements: string[], remote: boolean): ResultSet[] {
  const { status, stdout } = wrangler(["d1", "execute", DATABASE, remote ? "--remote" : "--local", "--json", "--command", statements.join("\n")], {
    captureStdout: true,
  });
  if (status !== 0) fail(`wrangler d1 execute failed (exit code ${status}).\n${stdout.trim()}`);
  return JSON.parse(stdout) as ResultSet[];
}

function printRoster(slotId: number, csv: boolean, remote: boolean): void {
  const rows = rosterOutcome(execute(rosterStatements(slotId), remote));
  if (!rows) fail(`No slot with id ${slotId}`);
  if (csv) process.stdout.write(rosterCsv(rows));
  else console.log(rows.length === 0 ? `Slot ${slotId} has no live entries.` : rosterTable(rows));
}

function main(): void {
  const options = parseCommandLine();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const { task, remote } = options;
  if (task.kind === "roster") return printRoster(task.slotId, task.csv, remote);
  const { command, email } = task;
  const outcome = roleChangeOutcome(command, email, execute(roleChangeStatements(command, email), remote));
  if (!outcome.ok) fail(outcome.message);
  const { user } = outcome;
  console.log(`User ${user.email} (id ${user.id}) now has role ${user.role}.`);
  console.log("Every request reads the role from D1, so this applies now, also to tokens already issued.");
}

main();
