import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { database } from "../db/client";
import { users } from "../db/schema";
import { AppError } from "../lib/errors";
import type { CallerEnv, OptionalCallerEnv } from "../lib/types";
import { readToken, type AuthUser } from "./jwt";

const invalidToken = () => new AppError(401, "invalid_token", "Invalid or expired token");

/**
 * The caller named by an Authorization header; undefined without one; 401 for a malformed or bad
 * token, or one whose user no longer exists. The role is read from D1 (one primary-key lookup),
 * never from the token, and from the primary, not a replica: so a demotion or a deleted account
 * applies at once, also to tokens already issued.
 */
async function callerOf(authorization: string | undefined, env: Env): Promise<AuthUser | undefined> {
  if (authorization === undefined) return undefined;
  const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
  if (!token) throw invalidToken();
  const id = await readToken(env, token);
  const user = await database(env.DB).select({ role: users.role }).from(users).where(eq(users.id, id)).get();
  if (!user) throw invalidToken();
  return { id, role: user.role };
}

async function requiredCallerOf(authorization: string | undefined, env: Env): Promise<AuthUser> {
  const user = await callerOf(authorization, env);
  if (!user) throw new AppError(401, "not_authenticated", "Not authenticated");
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

export const requireAdmin = createMiddleware<CallerEnv>(async (c, next) => {
  const user = await requiredCallerOf(c.req.header("Authorization"), c.env);
  if (user.role !== "ADMIN") throw new AppError(403, "forbidden", "Admin role required");
  c.set("user", user);
  await next();
});
