import type { Role } from "../db/schema";
import type { AppEnv } from "../http/types";

// Who is calling: the signed-in user that auth/middleware.ts puts on the request.

/** A signed-in caller. The role is D1's, read on every admin request; the token's `role` claim is for clients to display. */
export type AuthUser = { id: number; role: Role };

/** Set by auth/middleware.ts: `requireUser` and `requireAdmin` guarantee a caller, `identifyCaller` may leave none. */
export type CallerEnv = AppEnv & { Variables: { user: AuthUser } };
export type OptionalCallerEnv = AppEnv & { Variables: { user?: AuthUser } };
