import { sign, verify } from "hono/jwt";
import { AppError } from "../lib/errors";
import { ROLES, type Role } from "../db/schema";

export const TOKEN_LIFETIME_SECONDS = 60 * 60;
const ALGORITHM = "HS256";

export type AuthUser = { id: number; role: Role };

// Importing the HMAC key costs a Web Crypto call; do it once per isolate and secret.
const keys = new Map<string, Promise<CryptoKey>>();

function signingKey(env: Env): Promise<CryptoKey> {
  const secret = env.JWT_SECRET;
  if (!secret) {
    console.error("JWT_SECRET is not set: run `npm run setup` locally, or `npx wrangler secret put JWT_SECRET` in production");
    throw new AppError(500, "server_misconfigured", "Authentication is not configured on this server");
  }
  let key = keys.get(secret);
  if (!key) {
    const raw = new TextEncoder().encode(secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

export async function issueToken(env: Env, user: AuthUser): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: String(user.id), role: user.role, iat: now, exp: now + TOKEN_LIFETIME_SECONDS };
  return sign(claims, await signingKey(env), ALGORITHM);
}

const invalidToken = () => new AppError(401, "invalid_token", "Invalid or expired token");

/** Verifies signature (HS256 only), expiry and claims. Every failure is the same 401. */
export async function readToken(env: Env, token: string): Promise<AuthUser> {
  const key = await signingKey(env);
  const claims = await verify(token, key, { alg: ALGORITHM }).catch(() => {
    throw invalidToken();
  });
  // hono/jwt checks `exp` only when it is present: a token without one would never expire.
  const id = Number(claims.sub);
  const role = claims.role as Role;
  if (typeof claims.exp !== "number" || !Number.isSafeInteger(id) || id < 1 || !ROLES.includes(role)) {
    throw invalidToken();
  }
  return { id, role };
}
