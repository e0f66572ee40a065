import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { database } from "../db/client";
import { users, type Role } from "../db/schema";
import { forbidden, invalidToken, notAuthenticated } from "../errors/catalogue";
import type { AuthUser, CallerEnv, OptionalCallerEnv } from "./caller";
import { readToken, type TokenClaims } from "./jwt";

/**
 * How long this isolate trusts what it has just read from D1 of a user: that the account exists
 * and which generation its tokens are at. Without it, every authenticated request, even one
 * answered from a slot object's memory, would wait for a D1 round trip to the primary. So a token
 * refused by signing out everywhere, a password change or the account's deletion may still be
 * accepted by another isolate for this long (the isolate that made the change forgets at once,
 * `forgetCaller`); a role is never taken from here for a decision: admin routes and admin
 * cancellations read it from D1.
 */
export const KNOWN_USER_TTL_MS = 10_000;
const KNOWN_USERS_MAX = 10_000;
const knownUsers = new Map<number, { role: Role; generation: number; expires: number }>();

/** Makes this isolate read the user from D1 at their next request: after a change to their tokens or account. */
export function forgetCaller(id: number): void {
  knownUsers.delete(id);
}

async function currentUser(env: Env, { id, generation }: TokenClaims, fresh: boolean): Promise<AuthUser> {
  const known = knownUsers.get(id);
  if (!fresh && known && known.expires > Date.now()) {
    if (generation === known.generation) return { id, role: known.role };
    // An older token is refused at once; a newer one means this isolate's read is out of date.
    if (generation < known.generation) throw invalidToken();
  }
  // From the primary, not a replica, so a demotion, a revocation or a deleted account applies at once.
  const user = await database(env.DB)
    .select({ role: users.role, generation: users.tokenGeneration })
    .from(users)
    .where(and(eq(users.id, id), isNull(users.deletedAt)))
    .get();
  if (!user) {
    knownUsers.delete(id);
    throw invalidToken();
  }
  if (knownUsers.size >= KNOWN_USERS_MAX) knownUsers.clear();
  knownUsers.set(id, { ...user, expires: Date.now() + KNOWN_USER_TTL_MS });
  if (generation !== user.generation) throw invalidToken();
  return { id, role: user.role };
}

/**
 * The caller named by an Authorization header; undefined without one; 401 for a malformed or bad
 * token, or one whose user no longer exists or has signed out everywhere since. `fresh` reads the user from D1 whatever this
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

/**
 * For the routes that act on the account itself (its data, password, tokens, deletion): reads the
 * user from D1 on every request, so a token refused elsewhere is refused here at once, whatever
 * this isolate remembers.
 */
export const requireCurrentUser = createMiddleware<CallerEnv>(async (c, next) => {
  c.set("user", await requiredCallerOf(c.req.header("Authorization"), c.env, true));
  await next();
});

/** Re-reads the role from D1 on every request, so a demotion takes effect at once. */
export const requireAdmin = createMiddleware<CallerEnv>(async (c, next) => {
  const user = await requiredCallerOf(c.req.header("Authorization"), c.env, true);
  if (user.role !== "ADMIN") throw forbidden();
  c.set("user", user);
  await next();
});
