import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Hook } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { AppError, handleError, handleNotFound } from "./errors";
import type { AppEnv } from "./types";

/** Requests carry small JSON documents; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Every failed validation becomes the one error shape: 422 naming each failing field. */
const validationFailed: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (result.success) return;
  const errors = result.error.issues.map((issue: z.core.$ZodIssue) => ({
    field: issue.path.length > 0 ? issue.path.join(".") : result.target,
    message: issue.message,
  }));
  const detail = errors.map(({ field, message }) => `${field}: ${message}`).join("; ");
  throw new AppError(422, "validation_error", detail, errors);
};

export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationFailed });
}

export function createApp() {
  const app = createRouter();
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new AppError(413, "payload_too_large", `Request body must be at most ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
