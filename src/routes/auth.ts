import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { isCommonPassword } from "../auth/common-passwords";
import { issueToken } from "../auth/jwt";
import { hashPassword, isOutdated, verifyAgainstDecoy, verifyPassword } from "../auth/password";
import { database } from "../db/client";
import { users } from "../db/schema";
import { createRouter } from "../lib/create-app";
import { AppError, brokenConstraint } from "../lib/errors";
import { errorResponses, jsonBody, jsonResponse } from "../lib/openapi";
import { nowUtcIso } from "../lib/time";

const Email = z.string().trim().toLowerCase().pipe(z.email().max(254)).openapi({ example: "user@example.com" });

const Registration = z.object({ email: Email, password: z.string().min(8).max(128) }).openapi("Registration");
const Login = z.object({ email: Email, password: z.string().min(1).max(128) }).openapi("Login");

const TokenSchema = z
  .object({ access_token: z.string(), token_type: z.literal("bearer") })
  .openapi("Token", { description: "An HS256 JWT valid for one hour; send it as `Authorization: Bearer <token>`" });

const register = createRoute({
  method: "post",
  path: "/register",
  tags: ["Auth"],
  summary: "Create a user account (role USER) and sign in",
  description: "422 `weak_password` for one of the most common passwords.",
  request: { body: jsonBody(Registration) },
  responses: {
    201: jsonResponse(TokenSchema, "Registered"),
    ...errorResponses(409, 413, 422),
  },
});

const login = createRoute({
  method: "post",
  path: "/login",
  tags: ["Auth"],
  summary: "Exchange email and password for a bearer token",
  request: { body: jsonBody(Login) },
  responses: {
    200: jsonResponse(TokenSchema, "Signed in"),
    ...errorResponses(401, 413, 422),
  },
});

const invalidCredentials = () => new AppError(401, "invalid_credentials", "Incorrect email or password");

const weakPassword = () => {
  const message = "This password is among the most commonly used; choose another";
  return new AppError(422, "weak_password", `password: ${message}`, [{ field: "password", message }]);
};

export const authRoutes = createRouter()
  .openapi(register, async (c) => {
    const { email, password } = c.req.valid("json");
    if (isCommonPassword(password)) throw weakPassword();
    const passwordHash = await hashPassword(password);
    const user = await database(c.env.DB)
      .insert(users)
      .values({ email, passwordHash, role: "USER", createdAt: nowUtcIso() })
      .returning({ id: users.id, role: users.role })
      .get()
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "unique") throw new AppError(409, "email_taken", "Email is already registered");
        throw error;
      });
    return c.json({ access_token: await issueToken(c.env, user), token_type: "bearer" as const }, 201);
  })
  .openapi(login, async (c) => {
    const { email, password } = c.req.valid("json");
    const db = database(c.env.DB);
    const user = await db.select().from(users).where(eq(users.email, email)).get();
    if (!user) {
      await verifyAgainstDecoy(password);
      throw invalidCredentials();
    }
    if (!(await verifyPassword(password, user.passwordHash))) throw invalidCredentials();
    if (isOutdated(user.passwordHash)) {
      // Only if the hash is still the one just checked: a password changed meanwhile wins.
      await db
        .update(users)
        .set({ passwordHash: await hashPassword(password) })
        .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)));
    }
    return c.json({ access_token: await issueToken(c.env, user), token_type: "bearer" as const }, 200);
  });
