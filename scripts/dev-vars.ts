// The .dev.vars that npm run setup (scripts/setup.ts) completes: the variables wrangler dev reads.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";

/** The variables local development needs, each with the value it gets if .dev.vars lacks it. */
const REQUIRED_VARS: [string, () => string][] = [["JWT_SECRET", () => randomBytes(32).toString("hex")]];
/** Defaults written only into a new .dev.vars: a line the developer deletes stays deleted. */
const INITIAL_VARS: [string, () => string][] = [["WEBHOOKS_ALLOW_LOOPBACK", () => "true"]];

/** Adds to the .dev.vars at `path` (creating it) the variables it lacks; keeps every value already there. Answers the names added. */
export function completeDevVars(path: string): string[] {
  const created = !existsSync(path);
  const existing = created ? "" : readFileSync(path, "utf8");
  const missing = [...REQUIRED_VARS, ...(created ? INITIAL_VARS : [])].filter(([name]) => !new RegExp(`^${name}=`, "m").test(existing));
  if (missing.length === 0) {
    console.log(".dev.vars is complete; left unchanged.");
    return [];
  }
  const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
  appendFileSync(path, separator + missing.map(([name, value]) => `${name}=${value()}\n`).join(""));
  console.log(`.dev.vars: added ${missing.map(([name]) => name).join(", ")}.`);
  return missing.map(([name]) => name);
}
