// zod as the Worker sees it: only the constructors the app (and @hono/zod-openapi) call, taken from
// zod's own modules. Re-exporting all of zod (or passing its whole namespace around, as
// extendZodWithOpenApi(z) does) keeps every schema class and all 40-odd locale packs in the bundle;
// this list lets esbuild drop what is not called (a 98 -> ~87 KiB gzip upload). Error messages stay
// English: zod registers its English locale when the first schema is built.
//
// wrangler.toml and vitest.config.ts alias the bare specifier "zod" to this file, so the app, its
// tests and @hono/zod-openapi all use it; types still come from the real zod. A constructor that is
// missing here throws at import, so every test fails at once: add it to the list. The paths are
// relative so that they are not aliased in turn; they follow the zod version in package-lock.json.
import * as z from "./zod-trimmed";

export {
  ZodType,
  object,
  string,
  number,
  boolean,
  enum,
  literal,
  array,
  record,
  union,
  discriminatedUnion,
  unknown,
  null,
  email,
  url,
} from "../node_modules/zod/v4/classic/schemas.js";
export { NEVER } from "../node_modules/zod/v4/core/index.js";
export type * as core from "../node_modules/zod/v4/core/index.js";
export { z };
export default z;
