// Serves the API locally with `wrangler dev`, without wrangler's calls home (see scripts/wrangler.ts),
// and fires its scheduled maintenance every minute as production does (scripts/cron.ts), since
// `wrangler dev` does not. `npm start` runs scripts/setup.ts first; extra arguments go to wrangler,
// e.g. `npm start -- --port 8788`.
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { fireCronEveryMinute } from "./cron";
import { wranglerCommand } from "./wrangler";

const USAGE = `Usage: npm start [-- <wrangler dev options>]

Runs \`wrangler dev\` on http://localhost:8787 after \`npm run setup\`, and runs the Worker's
scheduled maintenance (wrangler.toml, [triggers]) at every full minute, as Cloudflare does.`;

/** Where wrangler dev listens, from its --ip and --port options (defaults localhost:8787). */
function serverUrl(args: string[]): string {
  const { values } = parseArgs({ args, options: { ip: { type: "string" }, port: { type: "string" } }, strict: false });
  const ip = typeof values.ip === "string" && !["localhost", "0.0.0.0", "*", "::"].includes(values.ip) ? values.ip : "127.0.0.1";
  const port = typeof values.port === "string" ? values.port : "8787";
  return `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
}

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(USAGE);
} else {
  const { command, args: commandArgs, cwd } = wranglerCommand(["dev", "--test-scheduled", ...args]);
  const child = spawn(command, commandArgs, { cwd, stdio: "inherit" });
  const cron = fireCronEveryMinute(serverUrl(args), (error) => console.error(`scheduled maintenance not run this minute: ${error.message}`));
  child.once("exit", (code, signal) => {
    cron.stop();
    process.exitCode = code ?? (signal ? 1 : 0);
  });
  // Ctrl-C reaches wrangler through the terminal; a signal sent to this process alone is passed on.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
}
