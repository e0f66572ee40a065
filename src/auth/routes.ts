import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { database } from "../db/client";
import { brokenConstraint } from "../db/failures";
import { users } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { emailTaken, invalidCredentials } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { issueToken } from "./jwt";
import { admitLogin, admitRegistration, LIMITS } from "./login-throttle";
import { hashPassword, isOutdated, verifyAgainstDecoy, verifyPassword } from "./password";
import { NewPassword, refuseCommonPassword } from "./password-rules";

const Email = z.string().trim().toLowerCase().pipe(z.email().max(254)).openapi({ example: "user@example.com" });

const Registration = z.object({ email: Email, password: NewPassword }).openapi("Registration");
const Login = z.object({ email: Email, password: z.string().min(1).max(128) }).openapi("Login");

export const TokenSchema = z
  .object({ access_token: z.string(), token_type: z.literal("bearer") })
  .openapi("Token", { description: "An HS256 JWT valid for one hour; send it as `Authorization: Bearer <token>`" });

const register = createRoute({
  operationId: "register",
  security: [],
  method: "post",
  path: "/register",
  tags: ["Auth"],
  summary: "Create a user account (role USER) and sign in",
  description:
    "422 `weak_password` for one of the most common passwords. " +
    `At most ${LIMITS["registration-address"].attempts} registrations in ${LIMITS["registration-address"].windowSeconds / 60} minutes ` +
    "from one client address.",
  request: { body: jsonBody(Registration) },
  responses: {
    201: jsonResponse(TokenSchema, "Registered"),
    ...errorResponses(409, 413, 422, 429, 503),
  },
});

const login = createRoute({
  operationId: "login",
  security: [],
  method: "post",
  path: "/login",
  tags: ["Auth"],
  summary: "Exchange email and password for a bearer token",
  description:
    `Failed logins are limited, each within ${LIMITS["login-email"].windowSeconds / 60} minutes: ` +
    `${LIMITS["login-email-address"].attempts} for one email from one client address, ` +
    `${LIMITS["login-address"].attempts} from one address for any emails, ` +
    `${LIMITS["login-email"].attempts} for one email from all addresses together. ` +
    "Past a limit, attempts are refused (429) before any password is checked, until the oldest failure leaves the window. " +
    "An IPv6 address counts by its /64. A successful login clears its email's failures from its address.",
  request: { body: jsonBody(Login) },
  responses: {
    200: jsonResponse(TokenSchema, "Signed in"),
    ...errorResponses(401, 413, 422, 429, 503),
  },
});

/**
 * The client's address, which Cloudflare's edge sets on every request it forwards (replacing any
 * value the client sent). Only a request that did not come through the edge, such as a test's,
 * lacks it; then only the limits on the email apply (auth/login-throttle.ts, `loginCounters`).
 */
export const clientAddress = (c: Context) => c.req.header("CF-Connecting-IP");

export const authRoutes = createRouter()
  .openapi(register, async (c) => {
    const { email, password } = c.req.valid("json");
    refuseCommonPassword(password);
    await admitRegistration(c.env, clientAddress(c));
    const passwordHash = await hashPassword(password);
    const user = await database(c.env.DB)
      .insert(users)
      .values({ email, passwordHash, role: "USER", createdAt: nowUtcIso() })
      .returning({ id: users.id, role: users.role })
      .get()
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "unique") throw emailTaken();
        throw error;
      });
    return c.json({ access_token: await issueToken(c.env, user), token_type: "bearer" as const }, 201);
  })
  .openapi(login, async (c) => {
    const { email, password } = c.req.valid("json");
    // Refused before any password is checked: a throttled guess costs no PBKDF2 and reveals nothing.
    const attempt = await admitLogin(c.env, email, clientAddress(c));
    const db = database(c.env.DB);
    const user = await db.select().from(users).where(eq(users.email, email)).get();
    if (!user) {
      await verifyAgainstDecoy(password);
      throw invalidCredentials();
    }
    if (!(await verifyPassword(password, user.passwordHash))) throw invalidCredentials();
    await attempt.succeeded();
    if (isOutdated(user.passwordHash)) {
      // Only if the hash is still the one just checked: a password changed meanwhile wins.
      await db
        .update(users)
        .set({ passwordHash: await hashPassword(password) })
        .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)));
    }
    return c.json({ access_token: await issueToken(c.env, user, user.tokenGeneration), token_type: "bearer" as const }, 200);
  });
