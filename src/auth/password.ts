import { fromBase64, toBase64 } from "../values/encoding";

// PBKDF2-SHA256 through Web Crypto. Each hash is stored with its algorithm, iteration count and
// salt, `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64), so the count can be raised later
// without invalidating existing passwords: a login with an older count re-hashes (`isOutdated`).

/** Cloudflare Workers refuse PBKDF2 above 100,000 iterations; local workerd does not, so a test pins this. */
export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const SCHEME = "pbkdf2-sha256";

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, HASH_BITS);
  return new Uint8Array(bits);
}

/** Compares in time that depends only on the lengths, not on where the bytes first differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ (b[i] ?? 0);
  return difference === 0;
}

/** Hashes with PBKDF2_ITERATIONS; a lower count is only for tests of re-hashing. */
export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return [SCHEME, iterations, toBase64(salt), toBase64(hash)].join("$");
}

type StoredHash = { iterations: number; salt: Uint8Array; hash: Uint8Array };

/** The parts of a stored hash; undefined if it is not one this code can check. */
function parse(stored: string): StoredHash | undefined {
  const [scheme, iterations, salt, hash, ...rest] = stored.split("$");
  const count = Number(iterations);
  if (scheme !== SCHEME || !salt || !hash || rest.length > 0) return undefined;
  // More iterations than Workers allow could not be checked here at all.
  if (!Number.isSafeInteger(count) || count < 1 || count > PBKDF2_ITERATIONS) return undefined;
  try {
    return { iterations: count, salt: fromBase64(salt), hash: fromBase64(hash) };
  } catch {
    return undefined;
  }
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = parse(stored);
  if (!parts) return false;
  return constantTimeEqual(await derive(password, parts.salt, parts.iterations), parts.hash);
}

/** Whether a hash that just verified should be replaced by one with today's iteration count. */
export function isOutdated(stored: string): boolean {
  const parts = parse(stored);
  return parts !== undefined && parts.iterations < PBKDF2_ITERATIONS;
}

let decoyHash: Promise<string> | undefined;

/**
 * Runs one full verification against a throw-away hash, so that a login for an unknown email
 * costs as much as one with a wrong password and response times do not reveal which emails exist.
 */
export async function verifyAgainstDecoy(password: string): Promise<void> {
  decoyHash ??= hashPassword(crypto.randomUUID());
  await verifyPassword(password, await decoyHash);
}
