// The SQL with which scripts/admin.ts changes a user's role through wrangler, and how it reads the
// answer. Apart from the CLI so that test/last-admin.test.ts runs these very statements on D1.
import { sqlString } from "./sql";

export const ROLE_FOR_COMMAND = { promote: "ADMIN", demote: "USER" } as const;
/** The audit_log action of each command, as the API's PUT /admin/users/{user_id}/role records it. */
const AUDIT_ACTION_FOR_COMMAND = { promote: "user.promote", demote: "user.demote" } as const;
export type Command = keyof typeof ROLE_FOR_COMMAND;

export type UserRow = { id: number; email: string; role: string };
/** One result set of `wrangler d1 execute --json`, or of a D1 batch: one per statement. */
export type ResultSet = { results: unknown[] };

/**
 * Statements run as one batch (one transaction; wrangler runs a multi-statement command so): the
 * audit entry (actor NULL: done with wrangler; none when the user already has the role, as
 * through the API), the change, then the user as it is after them. As through the API, D1
 * itself refuses to take ADMIN away from the last admin, in the same statement that would.
 */
export function roleChangeStatements(command: Command, email: string): string[] {
  const role = sqlString(ROLE_FOR_COMMAND[command]);
  const user = `email = ${sqlString(email)}`;
  const leavesAnAdmin = `(${role} = 'ADMIN' OR users.role <> 'ADMIN'
    OR EXISTS (SELECT 1 FROM users AS others WHERE others.role = 'ADMIN' AND others.id <> users.id))`;
  return [
    `INSERT INTO audit_log (actor_id, action, target, before, after, created_at)
  SELECT NULL, ${sqlString(AUDIT_ACTION_FOR_COMMAND[command])}, 'user:' || id, json_object('role', role), json_object('role', ${role}),
         strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM users WHERE ${user} AND role <> ${role} AND ${leavesAnAdmin};`,
    `UPDATE users SET role = ${role} WHERE ${user} AND ${leavesAnAdmin};`,
    `SELECT id, email, role FROM users WHERE ${user};`,
  ];
}

/** What the statements did, from their result sets: the user with its new role, or why not. */
export function roleChangeOutcome(command: Command, email: string, resultSets: ResultSet[]): { ok: true; user: UserRow } | { ok: false; message: string } {
  const user = resultSets.at(-1)?.results[0] as UserRow | undefined;
  if (!user) return { ok: false, message: `No user with email ${email}` };
  if (user.role !== ROLE_FOR_COMMAND[command]) {
    return { ok: false, message: `${email} is the last admin: promote another user before demoting it` };
  }
  return { ok: true, user };
}
