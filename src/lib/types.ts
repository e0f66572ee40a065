import type { RequestIdVariables } from "hono/request-id";
import type { AuthUser } from "../auth/jwt";

/** `requestId` is set by the first middleware (lib/create-app.ts) for every request. */
export type AppEnv = { Bindings: Env; Variables: RequestIdVariables };

/** Set by auth/middleware.ts: `requireUser` and `requireAdmin` guarantee a caller, `identifyCaller` may leave none. */
export type CallerEnv = AppEnv & { Variables: { user: AuthUser } };
export type OptionalCallerEnv = AppEnv & { Variables: { user?: AuthUser } };
