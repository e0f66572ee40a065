import type { AuthUser } from "../auth/jwt";

export type AppEnv = { Bindings: Env };

/** Set by auth/middleware.ts: `requireUser` and `requireAdmin` guarantee a caller, `identifyCaller` may leave none. */
export type CallerEnv = AppEnv & { Variables: { user: AuthUser } };
export type OptionalCallerEnv = AppEnv & { Variables: { user?: AuthUser } };
