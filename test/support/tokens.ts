import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { AUDIENCE, ISSUER, keyIdOf, TOKEN_LIFETIME_SECONDS } from "../../src/auth/jwt";
import { base64url } from "../../src/values/encoding";
import type { TestUser } from "./users";

// JWTs for tests of authentication: the server's own claims, signed as the tests choose.

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A text's UTF-8 bytes in unpadded base64url, as in a JWT. */
export const base64UrlOfText = (text: string) => base64url(new TextEncoder().encode(text).buffer);

export type Claims = { sub?: string; role?: string; iss?: string; aud?: string; iat?: number; exp?: number; nbf?: number };

/** The claims the server itself would issue for this user, now. */
export function validClaims(user: TestUser): Claims {
  const now = nowSeconds();
  return { sub: String(user.id), role: "USER", iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + TOKEN_LIFETIME_SECONDS };
}

export type Signing = { secret?: string; alg?: "HS256" | "HS512"; kid?: string };

/**
 * A token signed by hono/jwt: with the server's secret (JWT_SECRET, a single key in tests), HS256
 * and that secret's kid unless told. With validClaims, valid in every respect but those changed.
 */
export async function signed(claims: Claims, { secret = env.JWT_SECRET!, alg = "HS256", kid }: Signing = {}): Promise<string> {
  return sign(claims, { kty: "oct", k: base64UrlOfText(secret), alg, kid: kid ?? (await keyIdOf(secret)) });
}
