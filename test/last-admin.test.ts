import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import { roleChangeOutcome, roleChangeStatements, type Command } from "../scripts/role-change";
import { api, statusCounts } from "./support/client";
import { createUser, createUsers, type TestUser } from "./support/users";

// Every test here starts with exactly one admin in D1 (this file's storage is its own).

type UserView = { id: number; email: string; role: string };

let admin: TestUser;
beforeEach(async () => {
  admin = await createUser("ADMIN");
  await env.DB.prepare("UPDATE users SET role = 'USER' WHERE role = 'ADMIN' AND id <> ?").bind(admin.id).run();
});

function putRole(caller: TestUser, userId: number, role: string) {
  return api<UserView & ErrorBody>("PUT", `/admin/users/${userId}/role`, { token: caller.token, body: { role } });
}

async function adminIds(): Promise<number[]> {
  const { results } = await env.DB.prepare("SELECT id FROM users WHERE role = 'ADMIN' ORDER BY id").all<{ id: number }>();
  return results.map((row) => row.id);
}

async function auditEntriesFor(user: TestUser) {
  const { results } = await env.DB.prepare("SELECT actor_id, action FROM audit_log WHERE target = ? ORDER BY id")
    .bind(`user:${user.id}`)
    .all<{ actor_id: number | null; action: string }>();
  return results;
}

describe("PUT /admin/users/{user_id}/role and the last admin", () => {
  it("refuses to demote the last admin, itself, with 409 last_admin, changing and recording nothing", async () => {
    const response = await putRole(admin, admin.id, "USER");
    expect(response.status).toBe(409);
    expect(response.body).toEqual({ detail: expect.any(String), code: "last_admin" });
    expect(await adminIds()).toEqual([admin.id]);
    expect(await auditEntriesFor(admin)).toEqual([]);
  });

  it("lets an admin demote itself while another admin remains, recorded as user.demote by itself", async () => {
    const [other] = await createUsers(1, "ADMIN");
    const response = await putRole(admin, admin.id, "USER");
    expect(response.status).toBe(200);
    expect(response.body.role).toBe("USER");
    expect(await adminIds()).toEqual([other.id]);
    expect(await auditEntriesFor(admin)).toEqual([{ actor_id: admin.id, action: "user.demote" }]);
  });

  it("keeps one admin when every admin demotes itself at once: all but one succeed, the last gets 409 last_admin", async () => {
    const others = await createUsers(4, "ADMIN");
    const everyone = [admin, ...others];
    const responses = await Promise.all(everyone.map((user) => putRole(user, user.id, "USER")));
    expect(statusCounts(responses)).toEqual({ 200: 4, 409: 1 });
    const [kept] = everyone.filter((_, i) => responses[i].status === 409);
    expect(await adminIds()).toEqual([kept.id]);
  });

  it("still lets the last admin be given ADMIN again, and demote a USER", async () => {
    const user = await createUser();
    expect((await putRole(admin, admin.id, "ADMIN")).status).toBe(200);
    expect((await putRole(admin, user.id, "USER")).status).toBe(200);
    expect(await adminIds()).toEqual([admin.id]);
  });
});

describe("npm run admin (scripts/admin.ts) and the last admin", () => {
  /** Runs the script's own statements on D1 as one batch, as `wrangler d1 execute` does, and reads them as it does. */
  async function runScript(command: Command, email: string) {
    const resultSets = await env.DB.batch(roleChangeStatements(command, email).map((statement) => env.DB.prepare(statement)));
    return roleChangeOutcome(command, email, resultSets);
  }

  it("refuses to demote the last admin, saying so, changing and recording nothing", async () => {
    expect(await runScript("demote", admin.email)).toEqual({ ok: false, message: expect.stringContaining("last admin") });
    expect(await adminIds()).toEqual([admin.id]);
    expect(await auditEntriesFor(admin)).toEqual([]);
  });

  it("demotes an admin while another remains, recorded as user.demote with no actor", async () => {
    const [other] = await createUsers(1, "ADMIN");
    expect(await runScript("demote", admin.email)).toEqual({ ok: true, user: { id: admin.id, email: admin.email, role: "USER" } });
    expect(await adminIds()).toEqual([other.id]);
    expect(await auditEntriesFor(admin)).toEqual([{ actor_id: null, action: "user.demote" }]);
  });

  it("still promotes, and says so for an unknown email", async () => {
    const user = await createUser();
    expect(await runScript("promote", user.email)).toMatchObject({ ok: true, user: { id: user.id, role: "ADMIN" } });
    expect(await runScript("demote", "nobody@example.com")).toEqual({ ok: false, message: "No user with email nobody@example.com" });
  });
});
