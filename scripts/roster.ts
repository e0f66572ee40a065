// The SQL with which `npm run admin -- roster` reads a slot's roster through wrangler (read-only),
// and how it prints it: the same entries and columns as GET /admin/slots/{slot_id}/bookings.
// Apart from the CLI so that test/roster-script.test.ts runs these very statements on D1.
import { csvLine, ROSTER_COLUMNS } from "../src/roster/csv";
import type { ResultSet } from "./role-change";

export type RosterRow = Record<(typeof ROSTER_COLUMNS)[number], string | number | null>;

/** The slot if it exists (not deleted), then its live entries in the order made, as the API lists them. */
export function rosterStatements(slotId: number): string[] {
  const id = Math.trunc(slotId);
  return [
    `SELECT id FROM time_slots WHERE id = ${id} AND deleted_at IS NULL;`,
    `SELECT b.id, b.user_id, u.email, b.status,
       CASE WHEN b.status = 'WAITLISTED' THEN (SELECT COUNT(*) FROM bookings AS ahead
         WHERE ahead.time_slot_id = b.time_slot_id AND ahead.status = 'WAITLISTED' AND ahead.id <= b.id) END AS position,
       CASE WHEN b.status = 'HELD' THEN b.expires_at END AS expires_at, b.created_at, b.checked_in_at
     FROM bookings AS b JOIN users AS u ON u.id = b.user_id
     WHERE b.time_slot_id = ${id} AND b.status IN ('BOOKED', 'HELD', 'WAITLISTED')
     ORDER BY b.created_at, b.id;`,
  ];
}

/** The roster from the statements' result sets, or undefined if the slot does not exist. */
export function rosterOutcome(resultSets: ResultSet[]): RosterRow[] | undefined {
  const [slot, entries] = resultSets;
  if (!slot || slot.results.length === 0) return undefined;
  return entries.results as RosterRow[];
}

/** The roster as the API's CSV (RFC 4180, formulas neutralised). */
export function rosterCsv(rows: RosterRow[]): string {
  return csvLine([...ROSTER_COLUMNS]) + rows.map((row) => csvLine(ROSTER_COLUMNS.map((column) => row[column]))).join("");
}

/** The roster as an aligned table for a terminal. */
export function rosterTable(rows: RosterRow[]): string {
  const cells = [[...ROSTER_COLUMNS], ...rows.map((row) => ROSTER_COLUMNS.map((column) => String(row[column] ?? "")))];
  const widths = ROSTER_COLUMNS.map((_, index) => Math.max(...cells.map((line) => line[index].length)));
  return cells.map((line) => line.map((cell, index) => cell.padEnd(widths[index])).join("  ").trimEnd()).join("\n");
}
