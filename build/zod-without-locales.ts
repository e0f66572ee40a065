// zod as the Worker sees it: zod's own entry point (zod/v4/classic/external.js) less its 40-odd
// locale packs, which `z.locales` and `z.core.locales` would otherwise keep in the bundle (half of it
// before compression: a 153 rather than a 98 KiB gzip upload). Error messages stay English:
// zod registers its English locale when the first schema is built.
//
// wrangler.toml and vitest.config.ts alias the bare specifier "zod" to this file, so the app, its
// tests and @hono/zod-openapi all use it. The paths are relative so that they are not aliased in
// turn; they follow the zod version pinned in package-lock.json.
import * as z from "./zod-without-locales";

export * from "../node_modules/zod/v4/classic/schemas.js";
export * from "../node_modules/zod/v4/classic/checks.js";
export * from "../node_modules/zod/v4/classic/errors.js";
export * from "../node_modules/zod/v4/classic/parse.js";
export * from "../node_modules/zod/v4/classic/compat.js";
export {
  globalRegistry,
  registry,
  config,
  $output,
  $input,
  $brand,
  clone,
  regexes,
  treeifyError,
  prettifyError,
  formatError,
  flattenError,
  TimePrecision,
  util,
  NEVER,
} from "../node_modules/zod/v4/core/index.js";
export { ZodISODateTime, ZodISODate, ZodISOTime, ZodISODuration } from "../node_modules/zod/v4/classic/iso.js";
export * as iso from "../node_modules/zod/v4/classic/iso.js";
export * as coerce from "../node_modules/zod/v4/classic/coerce.js";
export { z };
export default z;
