import { env } from "cloudflare:workers";
import { issueToken } from "../../src/auth/jwt";
import type { Role } from "../../src/db/schema";
import { toUtcIso } from "../../src/db/time";
import { client, settle } from "./client";

// Users for tests: registered through the API, or made straight in D1 with a real token.

let uniqueCounter = 0;
/** A text no other test uses. */
export const unique = () => `${Date.now()}-${++uniqueCounter}`;

/** An email no other test uses. */
export const uniqueEmail = (prefix = "user") => `${prefix}-${unique()}@example.com`;

/** A name (of a category, say) no other test uses. */
export const uniqueName = (base: string) => `${base} ${unique()}`;

/** The password of users registered through the API by tests. */
export const PASSWORD = "correct horse battery";

/** `CF-Connecting-IP`, as Cloudflare's edge sets it, when `address` is given. */
const fromAddress = (address?: string): Record<string, string> => (address ? { "CF-Connecting-IP": address } : {});

export function register(email: string, password = PASSWORD, address?: string) {
  return settle(client.register.$post({ json: { email, password } }, { headers: fromAddress(address) }));
}

export function login(email: string, password = PASSWORD, address?: string) {
  return settle(client.login.$post({ json: { email, password } }, { headers: fromAddress(address) }));
}

export type TestUser = { id: number; email: string; token: string };

/**
 * Users made straight in D1 with a token signed by the app's own code: fast enough for hundreds
 * of users. Their password hash is not a real one; tests of login register through the API.
 */
export async function createUsers(count: number, role: Role = "USER"): Promise<TestUser[]> {
  const batchId = unique();
  const emails = Array.from({ length: count }, (_, i) => `user-${batchId}-${i}@test.example`);
  const statements = emails.map((email) =>
    env.DB.prepare("INSERT INTO users (email, password_hash, role, created_at) VALUES (?, 'not-a-hash', ?, ?) RETURNING id").bind(
      email,
      role,
      toUtcIso(new Date()),
    ),
  );
  const results = await env.DB.batch<{ id: number }>(statements);
  return Promise.all(
    results.map(async (result, i) => {
      const id = result.results[0].id;
      return { id, email: emails[i], token: await issueToken(env, { id, role }) };
    }),
  );
}

export async function createUser(role: Role = "USER"): Promise<TestUser> {
  const [user] = await createUsers(1, role);
  return user;
}
