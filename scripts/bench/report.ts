// The benchmark's results: the targets checked, warnings, and the table printed at the end.
import type { Comparison } from "./against";
import type { Measured, ScenarioResult } from "./measurement";
import type { Options } from "./options";
import { SLOT_COUNT, type Scenario } from "./scenarios";

export type TargetCheck = { target: string; value: string; pass: boolean | null };

/**
 * One hot slot against the same load spread over many (issue 18): at 30 ms to D1, ≥ 0.6 × book-spread
 * and ≥ 100 req/s (3 × one booking per round trip); at 0 ms, ≥ 0.7 × book-spread.
 */
function hotSlotChecks(hot: ScenarioResult | undefined, spread: ScenarioResult | undefined, d1LatencyMs: number): TargetCheck[] {
  const factor = d1LatencyMs === 0 ? 0.7 : d1LatencyMs === 30 ? 0.6 : undefined;
  if (factor === undefined) return [];
  const ratio = hot && spread ? hot.requestsPerSecond / spread.requestsPerSecond : undefined;
  const checks: TargetCheck[] = [
    {
      target: `book-hot req/s ≥ ${factor} × book-spread (D1 at ${d1LatencyMs} ms)`,
      value: ratio === undefined ? "not run" : `${ratio.toFixed(2)} × (${hot!.requestsPerSecond.toFixed(0)} vs ${spread!.requestsPerSecond.toFixed(0)} req/s)`,
      pass: ratio === undefined ? null : ratio >= factor,
    },
  ];
  if (d1LatencyMs === 30) {
    checks.push({ target: "book-hot ≥ 100 req/s (D1 at 30 ms)", value: hot ? `${hot.requestsPerSecond.toFixed(0)} req/s` : "not run", pass: hot ? hot.requestsPerSecond >= 100 : null });
  }
  return checks;
}

export function targetChecks(results: ScenarioResult[], d1LatencyMs: number): TargetCheck[] {
  const byName = new Map(results.map((result) => [result.scenario, result]));
  const health = byName.get("health");
  const checks: TargetCheck[] = [];
  for (const [name, factor] of [
    ["book-full", 0.5],
    ["slots", 0.8],
    ["book-spread", 0.2],
  ] as const) {
    const result = byName.get(name);
    checks.push({
      target: `${name} req/s ≥ ${factor} × health`,
      value: result ? `${result.ratioToHealth.toFixed(2)} × health` : "not run",
      pass: result ? result.ratioToHealth >= factor : null,
    });
  }
  checks.push(...hotSlotChecks(byName.get("book-hot"), byName.get("book-spread"), d1LatencyMs));
  const watched = byName.get("cancel-rebook-watched");
  const unwatchedRate = watched?.unwatchedRequestsPerSecond;
  checks.push({
    target: "cancel-rebook-watched req/s ≥ 0.8 × unwatched",
    value: unwatchedRate
      ? `${(watched!.requestsPerSecond / unwatchedRate).toFixed(2)} × (${watched!.requestsPerSecond.toFixed(0)} vs ${unwatchedRate.toFixed(0)} req/s)`
      : "not run",
    pass: unwatchedRate ? watched!.requestsPerSecond / unwatchedRate >= 0.8 : null,
  });
  const limit = (health?.p99Ms ?? 0) * 2;
  for (const result of results) {
    if (result.scenario === "health" || result.scenario === "login") continue;
    checks.push({
      target: `${result.scenario} p99 ≤ 2 × health p99 (${limit} ms)`,
      value: `${result.p99Ms} ms`,
      pass: result.p99Ms <= limit,
    });
  }
  return checks;
}

export function warnings(results: ScenarioResult[], list: Scenario[]): string[] {
  const out: string[] = [];
  for (const result of results) {
    const scenario = list.find((s) => s.name === result.scenario)!;
    const unexpected = Object.entries(result.statuses).filter(([status]) => !scenario.expected.includes(Number(status)));
    if (unexpected.length > 0) {
      out.push(`${result.scenario}: unexpected responses ${unexpected.map(([s, n]) => `${s}:${n}`).join(" ")} (expected only ${scenario.expected.join(", ")})`);
    }
    if (result.errors > 0) out.push(`${result.scenario}: ${result.errors} connection errors (${result.timeouts} timeouts)`);
  }
  for (const scenario of list) {
    const note = scenario.note?.();
    if (note) out.push(note);
  }
  return out;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => (column === 0 || column === row.length - 1 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ").trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

export function statusesText(result: ScenarioResult): string {
  const parts = Object.entries(result.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, count]) => `${status}:${count}`);
  if (result.errors > 0) parts.push(`errors:${result.errors}`);
  if (result.timeouts > 0) parts.push(`timeouts:${result.timeouts}`);
  return parts.join(" ") || "-";
}

const number = (value: number, digits = 0) => value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** With --against: each seed API scenario on both servers, side by side, and ours ÷ theirs. */
function comparisonTable(url: string, comparison: Comparison[], theirs: Measured[]): string[] {
  const statuses = (scenario: string) => statusesText({ ...theirs.find((row) => row.scenario === scenario)!, ratioToHealth: 0 });
  return [
    "",
    `Against ${url} (the same scenarios, seeded through the seed API, each run right after ours):`,
    "",
    formatTable([
      ["scenario", "ours req/s", "theirs req/s", "ours ÷ theirs", "ours p99 ms", "theirs p99 ms", "their responses by status"],
      ...comparison.map((c) => [c.scenario, number(c.oursRequestsPerSecond), number(c.theirsRequestsPerSecond), c.ratio.toFixed(2), String(c.oursP99Ms), String(c.theirsP99Ms), statuses(c.scenario)]),
    ]),
  ];
}

export function report(results: ScenarioResult[], checks: TargetCheck[], notes: string[], options: Options, against?: { comparison: Comparison[]; theirs: Measured[] }): string {
  const table = formatTable([
    ["scenario", "req/s", "× health", "p50 ms", "p99 ms", "responses by status"],
    ...results.map((r) => [r.scenario, number(r.requestsPerSecond), r.ratioToHealth.toFixed(2), String(r.p50Ms), String(r.p99Ms), statusesText(r)]),
  ]);
  const mark = (pass: boolean | null) => (pass === null ? "n/a " : pass ? "PASS" : "MISS");
  return [
    `${options.duration} s per scenario after ${options.warmup} s warm-up, ${options.connections} connections, ${options.users} users, ${SLOT_COUNT} slots, ${options.watchers} watchers, D1 at +${options.d1LatencyMs} ms from slot objects`,
    "",
    table,
    ...(options.against && against ? comparisonTable(options.against.url, against.comparison, against.theirs) : []),
    "",
    "Targets (ours):",
    ...checks.map((check) => `  ${mark(check.pass)}  ${check.target.padEnd(44)} ${check.value}`),
    ...(notes.length > 0 ? ["", "Warnings:", ...notes.map((note) => `  ${note}`)] : []),
  ].join("\n");
}
