import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Hook } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { payloadTooLarge, validationFailed } from "../errors/catalogue";
import { handleError, handleNotFound } from "./errors";
import { newGenerationOnWrite } from "./micro-cache";
import { pageSecurityHeaders } from "./page-security";
import type { AppEnv } from "./types";

/** Requests carry small JSON documents; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Every failed validation becomes the one error shape: 422 naming each failing field. */
const refuseInvalidInput: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (result.success) return;
  throw validationFailed(
    result.error.issues.map((issue: z.core.$ZodIssue) => ({
      field: issue.path.length > 0 ? issue.path.join(".") : result.target,
      message: issue.message,
    })),
  );
};

/** A JSON response needs nothing loaded and is never shown in a frame. */
const apiSecurityHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  xFrameOptions: "DENY",
});

const securityHeaders = createMiddleware<AppEnv>((c, next) =>
  (c.req.path === "/docs" ? pageSecurityHeaders : apiSecurityHeaders)(c, next),
);

/** What browser clients on other origins may read of a response, besides the CORS-safelisted headers. */
const EXPOSED_HEADERS = ["ETag", "Link", "Retry-After", "X-Request-Id", "x-d1-bookmark", "Idempotent-Replayed", "Age"];

/**
 * CORS for browser clients on other origins: CORS_ORIGINS is `*` or a comma-separated list of
 * origins. No credentials: auth is a bearer header, never a cookie. Preflights are answered here,
 * before any route's auth.
 */
const crossOrigin = cors({
  origin: (origin, c) => {
    // Unset (a deployment without the [vars] entry, or the app asked without an environment): `*`.
    const allowed = ((c.env as Env | undefined)?.CORS_ORIGINS ?? "*").split(",").map((entry) => entry.trim());
    return allowed.includes("*") ? "*" : allowed.includes(origin) ? origin : null;
  },
  exposeHeaders: EXPOSED_HEADERS,
  maxAge: 600,
});

export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: refuseInvalidInput });
}

export function createApp() {
  const app = createRouter();
  // An incoming X-Request-Id is kept if well-formed (letters, digits, _ - =, at most 255), else a
  // new UUID; either way it is on the response and in every line handleError logs.
  app.use(requestId());
  app.use(crossOrigin);
  app.use(securityHeaders);
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw payloadTooLarge(MAX_BODY_BYTES);
      },
    }),
  );
  // Inside the others: a write's answer leaves only after reads here can no longer miss it.
  app.use(newGenerationOnWrite);
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
