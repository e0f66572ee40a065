import { fromBase64, toBase64 } from "../values/encoding";

// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 through Web Crypto
// of "{webhook-id}.{webhook-timestamp}.{body}", keyed with the secret's bytes after "whsec_".

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function newSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The headers that sign `body` as the message `id` sent at `timestamp` (seconds since the epoch). */
export async function signatureHeaders(secret: string, id: string, timestamp: number, body: string): Promise<Record<string, string>> {
  const key = await crypto.subtle.importKey("raw", fromBase64(secret.slice(SECRET_PREFIX.length)), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${toBase64(new Uint8Array(mac))}` };
}
