// Serves the API locally with `wrangler dev`, without wrangler's calls home (see scripts/wrangler.ts).
// `npm start` runs scripts/setup.ts first; extra arguments go to wrangler, e.g. `npm start -- --port 8788`.
import { wrangler } from "./wrangler";

if (process.argv.includes("--help")) {
  console.log("Usage: npm start [-- <wrangler dev options>]\n\nRuns `wrangler dev` on http://localhost:8787 after `npm run setup`.");
} else {
  process.exitCode = wrangler(["dev", ...process.argv.slice(2)]).status;
}
