// RFC 4180 CSV for spreadsheets: CRLF line ends, a field quoted when it holds a comma, a quote or
// a line break (quotes doubled), and every text that a spreadsheet would run as a formula (one
// starting with =, +, -, @, a tab or a carriage return: an email may start with "=") led by an
// apostrophe, which spreadsheets show as text (OWASP, "CSV Injection").

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: null as an empty cell, numbers as written, text neutralised and quoted as needed. */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record with its CRLF. */
export function csvLine(cells: (string | number | null)[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

export const CSV_CONTENT_TYPE = "text/csv; charset=utf-8; header=present";

/** The roster's columns, in its CSV header's order: the API's (roster/routes.ts) and `npm run admin -- roster`'s. */
export const ROSTER_COLUMNS = ["id", "user_id", "email", "status", "position", "expires_at", "created_at", "checked_in_at"] as const;
