import type { RequestIdVariables } from "hono/request-id";

/** `requestId` is set by the first middleware (http/app.ts) for every request. */
export type AppEnv = { Bindings: Env; Variables: RequestIdVariables };
