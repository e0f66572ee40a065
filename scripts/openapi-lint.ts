// Lints the OpenAPI document the Worker serves, with Redocly's recommended rules (redocly.yaml),
// without a server or the internet: the Worker's app is imported into Node and asked for
// /openapi.json, which is written to dist/openapi.json for `redocly lint`.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { register } from "node:module";
import { join } from "node:path";
import { projectRoot } from "./wrangler";

const USAGE = `Usage: npm run lint:openapi

Writes the document that GET /openapi.json serves to dist/openapi.json and lints it with
Redocly CLI (redocly.yaml: the recommended rules, warnings failing as errors). npm test runs it.`;

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}

// The Durable Object classes extend DurableObject from `cloudflare:workers`, which only workerd
// provides. Building the document runs none of their code, so Node gets an empty stand-in.
const standIn = `export async function resolve(specifier, context, next) {
  if (specifier === "cloudflare:workers") return { url: "data:text/javascript,export class DurableObject {}", shortCircuit: true };
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(standIn)}`);

// Not a literal import, so that typechecking the scripts (Node types) leaves the Worker's sources alone.
const worker = new URL("../src/index.ts", import.meta.url).href;
const { app } = (await import(worker)) as { app: { request(path: string): Response | Promise<Response> } };
const response = await app.request("/openapi.json");
if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);

const document = join(projectRoot, "dist", "openapi.json");
mkdirSync(join(projectRoot, "dist"), { recursive: true });
writeFileSync(document, `${JSON.stringify(await response.json(), null, 2)}\n`);

// Redocly CLI would otherwise send telemetry and look for a newer version of itself online.
const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" };
const lint = spawnSync("npx", ["redocly", "lint", "dist/openapi.json"], { cwd: projectRoot, env, stdio: "inherit" });
process.exit(lint.status ?? 1);
