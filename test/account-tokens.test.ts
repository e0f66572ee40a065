import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KNOWN_USER_TTL_MS } from "../src/auth/middleware";
import { changePassword, preferencesAs, registered, revokeSessions } from "./account-helpers";
import { api, errorOf, refusedFields } from "./support/client";
import { signed, validClaims } from "./support/tokens";
import { login, PASSWORD } from "./support/users";

// PUT /user/password and POST /user/sessions/revoke: tokens carry their user's token generation
// (claim `gen`); both routes move it on, which refuses every token issued before.

const NEW_PASSWORD = "a brand new passphrase";

let addresses = 0;
/** A client address no other test uses (TEST-NET-3), for the login throttle. */
const freshAddress = () => `203.0.113.${++addresses}`;

async function auditOf(userId: number) {
  const { results } = await env.DB.prepare("SELECT actor_id, action, before, after FROM audit_log WHERE target = ? ORDER BY id")
    .bind(`user:${userId}`)
    .all<{ actor_id: number; action: string; before: string; after: string }>();
  return results;
}

describe("PUT /user/password", () => {
  it("answers a new token shaped as login's; the new password logs in and the old one no longer does", async () => {
    const account = await registered();
    const response = await changePassword(account, PASSWORD, NEW_PASSWORD);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: "bearer" });
    expect(await preferencesAs(response.body.access_token)).toEqual({ status: 200, code: undefined });
    expect((await login(account.email, NEW_PASSWORD)).status).toBe(200);
    expect(errorOf(await login(account.email, PASSWORD))).toEqual({ status: 401, code: "invalid_credentials" });
  });

  it("refuses every token issued before the change with 401 invalid_token", async () => {
    const account = await registered();
    const second = await login(account.email);
    expect(await preferencesAs(account.token)).toEqual({ status: 200, code: undefined });
    expect((await changePassword(account, PASSWORD, NEW_PASSWORD)).status).toBe(200);
    expect(await preferencesAs(account.token)).toEqual({ status: 401, code: "invalid_token" });
    expect(await preferencesAs(second.body.access_token)).toEqual({ status: 401, code: "invalid_token" });
  });

  it("refuses a wrong current password with 401 invalid_credentials, changing nothing", async () => {
    const account = await registered();
    expect(errorOf(await changePassword(account, "not the password", NEW_PASSWORD))).toEqual({ status: 401, code: "invalid_credentials" });
    expect((await login(account.email, PASSWORD)).status).toBe(200);
    expect(await preferencesAs(account.token)).toEqual({ status: 200, code: undefined });
    expect(await auditOf(account.id)).toEqual([]);
  });

  it("checks the current password under the login throttle: after 5 wrong ones from an address, the 6th is 429 even when right", async () => {
    const account = await registered();
    const address = freshAddress();
    for (let i = 0; i < 5; i++) expect((await changePassword(account, `wrong ${i}`, NEW_PASSWORD, address)).status).toBe(401);
    const throttled = await changePassword(account, PASSWORD, NEW_PASSWORD, address);
    expect(errorOf(throttled)).toEqual({ status: 429, code: "too_many_attempts" });
    expect(Number(throttled.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("applies the rules of registration to the new password: 8 to 128 characters, not a common one (422 naming new_password)", async () => {
    const account = await registered();
    expect(refusedFields(await changePassword(account, PASSWORD, "short"))).toEqual({ status: 422, fields: ["new_password"] });
    expect(refusedFields(await changePassword(account, PASSWORD, "x".repeat(129)))).toEqual({ status: 422, fields: ["new_password"] });
    const common = await changePassword(account, PASSWORD, "password123");
    expect(refusedFields(common)).toEqual({ status: 422, fields: ["new_password"] });
    expect(common.body.code).toBe("weak_password");
    expect((await login(account.email, PASSWORD)).status).toBe(200);
  });

  it("is recorded in the audit log as user.password_change by the account itself, without either password", async () => {
    const account = await registered();
    expect((await changePassword(account, PASSWORD, NEW_PASSWORD)).status).toBe(200);
    const entries = await auditOf(account.id);
    expect(entries).toEqual([{ actor_id: account.id, action: "user.password_change", before: '{"token_generation":0}', after: '{"token_generation":1}' }]);
    expect(JSON.stringify(entries)).not.toContain(PASSWORD);
    expect(JSON.stringify(entries)).not.toContain(NEW_PASSWORD);
  });

  it("of two changes at once from the same password, exactly one succeeds and the other is 401 invalid_credentials", async () => {
    const account = await registered();
    const responses = await Promise.all([changePassword(account, PASSWORD, NEW_PASSWORD), changePassword(account, PASSWORD, "another new passphrase")]);
    expect(responses.map((response) => response.status).sort()).toEqual([200, 401]);
  });
});

describe("POST /user/sessions/revoke", () => {
  afterEach(() => vi.useRealTimers());

  it("refuses every token issued before it with 401 invalid_token; a new login works", async () => {
    const account = await registered();
    const other = await login(account.email);
    const response = await revokeSessions(account);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ message: "Signed out everywhere" });
    expect(await preferencesAs(account.token)).toEqual({ status: 401, code: "invalid_token" });
    expect(await preferencesAs(other.body.access_token)).toEqual({ status: 401, code: "invalid_token" });
    const fresh = await login(account.email);
    expect(await preferencesAs(fresh.body.access_token)).toEqual({ status: 200, code: undefined });
  });

  it("is recorded in the audit log as user.sessions_revoke", async () => {
    const account = await registered();
    expect((await revokeSessions(account)).status).toBe(200);
    expect((await auditOf(account.id)).map((entry) => entry.action)).toEqual(["user.sessions_revoke"]);
  });

  it(`a revocation made in another isolate is seen here within the caller cache's lifetime, ${KNOWN_USER_TTL_MS / 1000} s`, async () => {
    const account = await registered();
    expect(await preferencesAs(account.token)).toEqual({ status: 200, code: undefined });
    // What another isolate's POST /user/sessions/revoke writes, without this isolate forgetting its read.
    await env.DB.prepare("UPDATE users SET token_generation = token_generation + 1 WHERE id = ?").bind(account.id).run();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + KNOWN_USER_TTL_MS + 1 });
    expect(await preferencesAs(account.token)).toEqual({ status: 401, code: "invalid_token" });
  });

  it("the account's own routes refuse a revoked token at once, whatever this isolate remembers", async () => {
    const account = await registered();
    expect(await preferencesAs(account.token)).toEqual({ status: 200, code: undefined });
    await env.DB.prepare("UPDATE users SET token_generation = token_generation + 1 WHERE id = ?").bind(account.id).run();
    expect(errorOf(await api("GET", "/user/export", { token: account.token }))).toEqual({ status: 401, code: "invalid_token" });
    expect(errorOf(await revokeSessions(account))).toEqual({ status: 401, code: "invalid_token" });
  });

  it("a token without a gen claim (issued before tokens had one) is of generation 0: accepted until the first revocation", async () => {
    const account = await registered();
    const legacy = await signed(validClaims(account));
    expect(await preferencesAs(legacy)).toEqual({ status: 200, code: undefined });
    expect((await revokeSessions(account)).status).toBe(200);
    expect(await preferencesAs(legacy)).toEqual({ status: 401, code: "invalid_token" });
  });

  it("refuses a token whose gen claim is not a whole number from 0, or is ahead of the account's", async () => {
    const account = await registered();
    for (const gen of [-1, 1.5, "0", 1]) {
      const token = await signed({ ...validClaims(account), gen } as ReturnType<typeof validClaims>);
      expect(await preferencesAs(token), `gen ${JSON.stringify(gen)}`).toEqual({ status: 401, code: "invalid_token" });
    }
  });
});
