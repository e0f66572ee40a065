import { encodeBase64Url } from "hono/utils/encode";

/** base64url without padding (RFC 4648 §5): how JWT segments, ETags, page cursors and feed secrets spell bytes. */
export function base64url(bytes: ArrayBufferLike): string {
  return encodeBase64Url(bytes).replace(/=+$/, "");
}

/** The SHA-256 of a text's UTF-8 bytes. */
export function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}
