// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; declare them here.
// JWT_SECRET is optional in the type because a deployment may forget it: auth/jwt.ts checks.
declare namespace Cloudflare {
  interface Env {
    JWT_SECRET?: string;
  }
}
