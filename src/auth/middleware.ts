import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { database } from "../db/client";
import { users, type Role } from "../db/schema";
import { forbidden, invalidToken, notAuthenticated } from "../errors/catalogue";
import type { AuthUser, CallerEnv, OptionalCallerEnv } from "./caller";
import { readToken } from "./jwt";

/**
 * How long this isolate trusts that a user it has just read from D1 still exists. Without it,
 * every authenticated request, even one answered from a slot object's memory, would wait for a
 * D1 round trip to the primary. So a deleted account is refused within this time; a role is
 * never taken from here for a decision: admin routes and admin cancellations read it from D1.
 */
const KNOWN_USER_TTL_MS = 10_000;
const KNOWN_USERS_MAX = 10_000;
const knownUsers = new Map<number, { role: Role; expires: number }>();

async function currentUser(env: Env, id: number, fresh: boolean): Promise<AuthUser> {
  const known = knownUsers.get(id);
  if (!fresh && known && known.expires > Date.now()) return { id, role: known.role };
  // From the primary, not a replica, so a demotion or a deleted account applies at once.
  const user = await database(env.DB).select({ role: users.role }).from(users).where(eq(users.id, id)).get();
  if (!user) {
    knownUsers.delete(id);
    throw invalidToken();
  }
  if (knownUsers.size >= KNOWN_USERS_MAX) knownUsers.clear();
  knownUsers.set(id, { role: user.role, expires: Date.now() + KNOWN_USER_TTL_MS });
  return { id, role: user.role };
}

/**
 * The caller named by an Authorization header; undefined without one; 401 for a malformed or bad
 * token, or one whose user no longer exists. `fresh` reads the user from D1 whatever this
 * isolate remembers.
 */
async function callerOf(authorization: string | undefined, env: Env, fresh = false): Promise<AuthUser | undefined> {
  if (authorization === undefined) return undefined;
  const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
  if (!token) throw invalidToken();
  return currentUser(env, await readToken(env, token), fresh);
}

async function requiredCallerOf(authorization: string | undefined, env: Env, fresh = false): Promise<AuthUser> {
  const user = await callerOf(authorization, env, fresh);
  if (!user) throw notAuthenticated();
  return user;
}

/** For routes open to everyone that answer a signed-in caller differently (GET /slots). */
export const identifyCaller = createMiddleware<OptionalCallerEnv>(async (c, next) => {
  c.set("user", await callerOf(c.req.header("Authorization"), c.env));
  await next();
});

export const requireUser = createMiddleware<CallerEnv>(async (c, next) => {
  c.set("user", await requiredCallerOf(c.req.header("Authorization"), c.env));
  await next();
});

/** Re-reads the role from D1 on every request, so a demotion takes effect at once. */
export const requireAdmin = createMiddleware<CallerEnv>(async (c, next) => {
  const user = await requiredCallerOf(c.req.header("Authorization"), c.env, true);
  if (user.role !== "ADMIN") throw forbidden();
  c.set("user", user);
  await next();
});
