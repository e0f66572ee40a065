// Fails when the folders of src/ import each other in a circle: each capability's folder may use
// the folders below it, never one that uses it back (README, "Layout"). Imports of every kind
// count, `import type` and `import("…")` types included; files directly in src/ (index.ts) form a
// folder of their own.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { projectRoot } from "./wrangler";

const USAGE = `Usage: npm run lint:folders [-- --help]

Reads every .ts and .tsx file under src/, maps each relative import to the folder it lands in
(the first path segment under src/; files directly in src/ are the folder "."), and looks for
circles in that folder graph. npm test runs it.

Exit code 0 when the folders import one another in one direction only; 1 otherwise, printing each
circle with, for every step of it, the file imports that make it.`;

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}

const SOURCE = join(projectRoot, "src");

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** The folder of src/ that a path under src/ is in. */
const folderOf = (path: string) => {
  const parts = relative(SOURCE, path).split(sep);
  return parts.length > 1 ? parts[0] : ".";
};

/** For each pair of folders, the imports from the first into the second: "src/a/x.ts imports ../b/y". */
const edges = new Map<string, Map<string, string[]>>();
const files = sourceFiles(SOURCE);
for (const file of files) {
  const from = folderOf(file);
  for (const { fileName: specifier } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
    if (!specifier.startsWith(".")) continue;
    const target = resolve(dirname(file), specifier);
    if (!target.startsWith(SOURCE + sep)) continue;
    const to = folderOf(target);
    if (to === from) continue;
    const targets = edges.get(from) ?? new Map<string, string[]>();
    edges.set(from, targets);
    targets.set(to, [...(targets.get(to) ?? []), `${relative(projectRoot, file)} imports ${specifier}`]);
  }
}

/** Tarjan's strongly connected components: each component of more than one folder holds a circle. */
function components(nodes: string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      found.push(component);
    }
  };
  for (const node of nodes) if (!index.has(node)) visit(node);
  return found;
}

const folders = [...new Set(files.map(folderOf))].sort();
const circles = components(folders).filter((component) => component.length > 1);
if (circles.length === 0) {
  console.log(`src/: ${folders.length} folders, ${files.length} files; the folders import one another in one direction only`);
  process.exit(0);
}
for (const circle of circles) {
  const members = new Set(circle);
  console.error(`Folders that import one another in a circle: ${[...members].sort().join(", ")}`);
  for (const from of [...members].sort()) {
    for (const [to, imports] of edges.get(from) ?? []) {
      if (!members.has(to)) continue;
      console.error(`  ${from} -> ${to}`);
      for (const line of imports) console.error(`    ${line}`);
    }
  }
}
process.exit(1);
