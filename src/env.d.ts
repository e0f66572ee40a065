// Secrets and local-only variables are not in wrangler.toml, so `wrangler types` cannot see them; declare them here.
// JWT_SECRET is optional in the type because a deployment may forget it: auth/jwt.ts checks.
declare namespace Cloudflare {
  interface Env {
    JWT_SECRET?: string;
    /** "true" in local development and tests only: webhooks may also point to http://127.0.0.1:<port> (webhooks/url-policy.ts). */
    WEBHOOKS_ALLOW_LOOPBACK?: string;
  }
}
