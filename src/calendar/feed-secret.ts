import { jwtSecrets } from "../auth/jwt";
import { base64url, sha256 } from "../values/encoding";

// The secret in a feed URL: calendar apps cannot send a bearer token, so the URL itself is the
// credential. It is HMAC-SHA256(key, salt), 256 bits, with a random 128-bit salt per feed and
// the key JWT_SECRET's signing key. D1 stores the salt and the secret's SHA-256, never the secret:
// a copy of the database does not open any feed, and yet GET /user/calendar-feed can show the
// URL again by deriving it. Changing JWT_SECRET's first key changes every derived secret; the
// next GET /user/calendar-feed then issues the new URL and the old one stops working.

/** The shape of a secret in a URL: 32 bytes, base64url without padding. */
export const FEED_SECRET = /^[A-Za-z0-9_-]{43}$/;

const keys = new Map<string, Promise<CryptoKey>>();

function feedKey(env: Env): Promise<CryptoKey> {
  const [secret] = jwtSecrets(env);
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

/** A new random salt: 128 bits. */
export function newSalt(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)).buffer);
}

/** The feed secret of a salt; "calendar-feed:" keeps these MACs apart from any other use of the key. */
export async function feedSecretOf(env: Env, salt: string): Promise<string> {
  return base64url(await crypto.subtle.sign("HMAC", await feedKey(env), new TextEncoder().encode(`calendar-feed:${salt}`)));
}

/** What D1 stores of a secret, and looks it up by. */
export async function hashOf(secret: string): Promise<string> {
  return base64url(await sha256(secret));
}
