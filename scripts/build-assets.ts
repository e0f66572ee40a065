// Builds the Workers static assets (wrangler.toml's [assets]) into dist/public: the booking page
// from web/, Swagger UI's files for /docs, and the `_headers` that gives them the same security
// headers as the Worker's pages. npm start, npm test and the deploy script run it first.
import { build, context, type BuildOptions } from "esbuild";
import { Hono } from "hono";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { DOCS_ASSETS } from "../src/http/docs";
import { pageSecurityHeaders } from "../src/http/page-security";
import { fail, projectRoot } from "./wrangler";

const USAGE = `Usage: npm run build:assets [-- --watch] [-- --help]

Builds the static assets that wrangler serves from dist/public (not committed):
  index.html, assets/app.js and assets/app.css   the booking page at /, from web/
  assets/docs.js, assets/swagger-ui/*            Swagger UI for /docs, from swagger-ui-dist
  _headers                                       the pages' Content-Security-Policy and other headers
Fails when the page's JavaScript and CSS together exceed 50 KiB gzipped.

  --watch   rebuild the page whenever a file in web/ changes (run next to \`npm start\`)
  --help    show this help`;

/** The page's JavaScript plus CSS, gzipped, may not exceed this (issue: a small, fast page). */
const PAGE_BUDGET_BYTES = 50 * 1024;

const web = join(projectRoot, "web");
const output = join(projectRoot, "dist", "public");
const assets = join(output, "assets");

/** Where an asset URL path of this origin lives in the output directory. */
const outputPath = (urlPath: string) => join(output, ...urlPath.split("/"));

const pageBuild: BuildOptions = {
  entryPoints: { app: join(web, "main.tsx"), docs: join(web, "docs.ts") },
  outdir: assets,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "hono/jsx/dom",
  legalComments: "none",
  logLevel: "warning",
};

function copySwaggerUi(): void {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve("swagger-ui-dist/package.json"));
  const files = [DOCS_ASSETS.stylesheet, DOCS_ASSETS.script, DOCS_ASSETS.icon];
  for (const urlPath of files) {
    const target = outputPath(urlPath);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(dist, urlPath.split("/").at(-1)!), target);
  }
  // Swagger UI is Apache-2.0: its licence and notice travel with its files.
  for (const notice of ["LICENSE", "NOTICE"]) copyFileSync(join(dist, notice), join(dirname(outputPath(DOCS_ASSETS.script)), notice));
}

/** The Worker's page headers (http/page-security.ts), as Workers static assets read them from `_headers`. */
async function writeHeaders(): Promise<void> {
  const app = new Hono().use(pageSecurityHeaders).get("/", (c) => c.body(null, 204));
  const response = await app.request("/");
  const lines = [...response.headers].map(([name, value]) => `  ${name}: ${value}`);
  writeFileSync(join(output, "_headers"), `# Written by scripts/build-assets.ts from src/http/page-security.ts.\n/*\n${lines.join("\n")}\n`);
}

/** The gzipped size of the page's JavaScript and CSS; fails the build above the budget. */
function checkPageBudget(): void {
  const files = ["app.js", "app.css"].map((name) => ({ name, gzip: gzipSync(readFileSync(join(assets, name)), { level: 9 }).length }));
  const total = files.reduce((sum, file) => sum + file.gzip, 0);
  const detail = files.map((file) => `${file.name} ${(file.gzip / 1024).toFixed(1)} KiB`).join(" + ");
  console.log(`Page: ${detail} = ${(total / 1024).toFixed(1)} KiB gzipped (budget ${PAGE_BUDGET_BYTES / 1024} KiB)`);
  if (total > PAGE_BUDGET_BYTES) fail(`The page's JavaScript and CSS exceed ${PAGE_BUDGET_BYTES / 1024} KiB gzipped.`);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ options: { help: { type: "boolean", short: "h" }, watch: { type: "boolean" } } }));
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }

  rmSync(output, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });
  copyFileSync(join(web, "index.html"), join(output, "index.html"));
  copyFileSync(join(web, "icon.svg"), join(assets, "icon.svg"));
  copySwaggerUi();
  await writeHeaders();

  if (values.watch) {
    const watcher = await context({ ...pageBuild, logLevel: "info" });
    await watcher.watch();
    console.log("Watching web/ for changes (Ctrl-C to stop).");
    return;
  }
  await build(pageBuild);
  checkPageBudget();
}

await main();
