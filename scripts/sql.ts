// SQL text for the scripts' wrangler commands; no Node APIs, so tests in workerd can import it too.

/** A SQL string literal: single quotes doubled. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
