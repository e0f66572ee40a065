import { decode, sign, verify } from "hono/jwt";
import { decodeBase64Url } from "hono/utils/encode";
import { invalidToken, serverMisconfigured } from "../errors/catalogue";
import { base64url, sha256 } from "../values/encoding";
import type { AuthUser } from "./caller";

export const TOKEN_LIFETIME_SECONDS = 60 * 60;
const ALGORITHM = "HS256";
/** Who issues the tokens, and for whom: a token made for another service with the same key is refused. */
export const ISSUER = "slotbook";
export const AUDIENCE = "slotbook-api";

/** One key of JWT_SECRET: its id (the token header's `kid`), the JWK that signs, the CryptoKey that verifies. */
type Key = { id: string; jwk: JsonWebKey & { alg: typeof ALGORITHM; kid: string }; verifier: CryptoKey };
type KeyRing = { signing: Key; byId: Map<string, Key> };

/**
 * A key's id: the first 16 hex digits of its SHA-256. It names the key without revealing it, and
 * stays the same wherever the key stands in JWT_SECRET.
 */
export async function keyIdOf(secret: string): Promise<string> {
  const digest = new Uint8Array(await sha256(secret));
  return Array.from(digest.subarray(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function keyOf(secret: string): Promise<Key> {
  const raw = new TextEncoder().encode(secret);
  const id = await keyIdOf(secret);
  const verifier = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  return { id, jwk: { kty: "oct", k: base64url(raw.buffer), alg: ALGORITHM, kid: id }, verifier };
}

// Importing keys costs Web Crypto calls; do it once per isolate and JWT_SECRET, not per request.
const keyRings = new Map<string, Promise<KeyRing>>();

/** The keys of JWT_SECRET, the signing one first; a 500 if there is none. */
export function jwtSecrets(env: Env): string[] {
  const secrets = (env.JWT_SECRET ?? "")
    .split(",")
    .map((secret) => secret.trim())
    .filter((secret) => secret.length > 0);
  if (secrets.length === 0) {
    throw serverMisconfigured("JWT_SECRET is not set: run `npm run setup` locally, or `npx wrangler secret put JWT_SECRET` in production");
  }
  return secrets;
}

/**
 * JWT_SECRET holds one or more keys, comma-separated. Tokens are signed with the first; any of
 * them verifies a token naming it. To rotate: put a new key first and keep the old one after it
 * until the tokens it signed have expired (an hour), then drop it.
 */
function keyRing(env: Env): Promise<KeyRing> {
  const secrets = jwtSecrets(env);
  const cacheKey = secrets.join(",");
  let ring = keyRings.get(cacheKey);
  if (!ring) {
    ring = Promise.all(secrets.map(keyOf)).then((keys) => ({ signing: keys[0], byId: new Map(keys.map((key) => [key.id, key])) }));
    keyRings.set(cacheKey, ring);
  }
  return ring;
}

/**
 * A token for `user`, carrying `generation`, the user's token generation in D1 (users.token_generation)
 * as the `gen` claim: signing out everywhere or changing the password moves it on, which refuses
 * every token issued before.
 */
export async function issueToken(env: Env, user: AuthUser, generation = 0): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: String(user.id), role: user.role, gen: generation, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + TOKEN_LIFETIME_SECONDS };
  // Given a JWK, hono/jwt writes its `kid` into the token's header.
  return sign(claims, (await keyRing(env)).signing.jwk);
}

/**
 * Whether the token is three segments each in the one base64url spelling of its bytes: no padding,
 * and zero in the bits of the last character that no byte uses. Otherwise one token would have
 * many accepted spellings (hono/jwt decodes them all to the same bytes), which a client or a
 * cache keyed on the token could be fooled by.
 */
function isCanonical(token: string): boolean {
  const segments = token.split(".");
  const reencoded = (segment: string) => base64url(decodeBase64Url(segment).buffer);
  try {
    return segments.length === 3 && segments.every((segment) => /^[\w-]*$/.test(segment) && reencoded(segment) === segment);
  } catch {
    return false; // atob refuses a length that no bytes have
  }
}

/** Who a token was issued to, and the generation of that user's tokens it belongs to. */
export type TokenClaims = { id: number; generation: number };

/**
 * The user a token was issued to and its generation (`gen`; 0 for a token issued before tokens had
 * one). Checks the key named by `kid`, the algorithm (HS256 only), signature, issuer, audience,
 * expiry and not-before. Every failure is the same 401. auth/middleware.ts then checks that the
 * user still exists with that generation (an isolate trusts its own read of D1 for up to 10 s)
 * and, for admin routes, reads their role from D1 afresh.
 */
export async function readToken(env: Env, token: string): Promise<TokenClaims> {
  const { byId } = await keyRing(env);
  if (!isCanonical(token)) throw invalidToken();
  let kid: unknown;
  try {
    kid = decode(token).header.kid;
  } catch {
    throw invalidToken();
  }
  const key = typeof kid === "string" ? byId.get(kid) : undefined;
  if (!key) throw invalidToken();
  const claims = await verify(token, key.verifier, { alg: ALGORITHM, iss: ISSUER, aud: AUDIENCE }).catch(() => {
    throw invalidToken();
  });
  // hono/jwt checks `exp` only when it is present: a token without one would never expire.
  const id = Number(claims.sub);
  const generation = claims.gen ?? 0;
  if (typeof claims.exp !== "number" || !Number.isSafeInteger(id) || id < 1) throw invalidToken();
  if (typeof generation !== "number" || !Number.isSafeInteger(generation) || generation < 0) throw invalidToken();
  return { id, generation };
}
