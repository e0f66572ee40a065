import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { database } from "../db/client";
import { users } from "../db/schema";
import { AppError } from "../lib/errors";
import type { CallerEnv, OptionalCallerEnv } from "../lib/types";
import { readToken, type AuthUser } from "./jwt";

/** The caller named by an Authorization header; undefined without one; 401 for a malformed or bad one. */
async function callerOf(authorization: string | undefined, env: Env): Promise<AuthUser | undefined> {
  if (authorization === undefined) return undefined;
  const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
  if (!token) throw new AppError(401, "invalid_token", "Invalid or expired token");
  return readToken(env, token);
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

/** Re-reads the role from D1 rather than trusting the token, so a demotion takes effect at once. */
export const requireAdmin = createMiddleware<CallerEnv>(async (c, next) => {
  const { id } = await requiredCallerOf(c.req.header("Authorization"), c.env);
  const row = await database(c.env.DB).select({ role: users.role }).from(users).where(eq(users.id, id)).get();
  if (!row) throw new AppError(401, "invalid_token", "Invalid or expired token");
  if (row.role !== "ADMIN") throw new AppError(403, "forbidden", "Admin role required");
  c.set("user", { id, role: row.role });
  await next();
});
