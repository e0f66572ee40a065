import type { RequestIdVariables } from "hono/request-id";
import type { Role } from "../db/schema";

/** A signed-in caller. The role is D1's, read on every admin request; the token's `role` claim is for clients to display. */
export type AuthUser = { id: number; role: Role };

/** `requestId` is set by the first middleware (http/app.ts) for every request. */
export type AppEnv = { Bindings: Env; Variables: RequestIdVariables };

/** Set by auth/middleware.ts: `requireUser` and `requireAdmin` guarantee a caller, `identifyCaller` may leave none. */
export type CallerEnv = AppEnv & { Variables: { user: AuthUser } };
export type OptionalCallerEnv = AppEnv & { Variables: { user?: AuthUser } };
