import { z } from "@hono/zod-openapi";
import { weakPassword } from "../errors/catalogue";
import { isCommonPassword } from "./common-passwords";

// What a new password must be, at registration (POST /register) and at a change (PUT /user/password).

/** 8 to 128 characters (a 422 naming the field otherwise). */
export const NewPassword = z.string().min(8).max(128);

/** 422 weak_password naming `field` for one of the most common passwords. */
export function refuseCommonPassword(password: string, field = "password"): void {
  if (isCommonPassword(password)) throw weakPassword(field);
}
