import { encodeBase64Url } from "hono/utils/encode";

// Bytes as text: the one base64 (stored password hashes, webhook secrets and signatures) and the one
// unpadded base64url (tokens, ETags, cursors, feed secrets); and the SHA-256 of a text.

/** Standard base64 with padding (RFC 4648 §4). */
export const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
export const fromBase64 = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));

/** base64url without padding (RFC 4648 §5): how JWT segments, ETags, page cursors and feed secrets spell bytes. */
export function base64url(bytes: ArrayBufferLike): string {
  return encodeBase64Url(bytes).replace(/=+$/, "");
}

/** The SHA-256 of a text's UTF-8 bytes. */
export function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}
