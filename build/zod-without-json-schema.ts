// zod's JSON Schema conversion, left out of the Worker: zod's schema classes import it, so it
// cannot be tree-shaken, yet nothing here converts a schema to JSON Schema (the OpenAPI document
// comes from @hono/zod-openapi's own generator). wrangler.toml and vitest.config.ts alias zod's
// two modules "../core/json-schema-processors.js" and "../core/to-json-schema.js" to this file
// (about 6 KiB gzipped). Validation is untouched; `.toJSONSchema()` throws. `aggregateChecks`
// stays real: the `.minLength`-style getters of zod's schemas read through it.
export { aggregateChecks } from "../node_modules/zod/v4/core/json-schema-processors.js";

const notBundled = (): never => {
  throw new Error("zod's JSON Schema conversion is not bundled in the Worker");
};

export const createToJSONSchemaMethod = () => notBundled;
export const createStandardJSONSchemaMethod = () => notBundled;
export {
  notBundled as anyProcessor,
  notBundled as arrayProcessor,
  notBundled as bigintProcessor,
  notBundled as booleanProcessor,
  notBundled as catchProcessor,
  notBundled as customProcessor,
  notBundled as dateProcessor,
  notBundled as defaultProcessor,
  notBundled as enumProcessor,
  notBundled as fileProcessor,
  notBundled as functionProcessor,
  notBundled as intersectionProcessor,
  notBundled as js,
  notBundled as lazyProcessor,
  notBundled as literalProcessor,
  notBundled as mapProcessor,
  notBundled as nanProcessor,
  notBundled as neverProcessor,
  notBundled as nonoptionalProcessor,
  notBundled as nullProcessor,
  notBundled as nullableProcessor,
  notBundled as numberProcessor,
  notBundled as objectProcessor,
  notBundled as optionalProcessor,
  notBundled as pipeProcessor,
  notBundled as prefaultProcessor,
  notBundled as promiseProcessor,
  notBundled as readonlyProcessor,
  notBundled as recordProcessor,
  notBundled as setProcessor,
  notBundled as stringProcessor,
  notBundled as successProcessor,
  notBundled as symbolProcessor,
  notBundled as templateLiteralProcessor,
  notBundled as transformProcessor,
  notBundled as tupleProcessor,
  notBundled as undefinedProcessor,
  notBundled as unionProcessor,
  notBundled as unknownProcessor,
  notBundled as voidProcessor,
};
