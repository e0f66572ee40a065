// Weeks in the browser's own time zone: Monday 00:00 to the next Monday 00:00, local time.

/** Monday 00:00 (local) of the week that holds `date`. */
export function startOfWeek(date: Date): Date {
  const day = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  day.setDate(day.getDate() - ((day.getDay() + 6) % 7));
  return day;
}

/** `date` moved by whole calendar days; local midnight stays midnight across daylight-saving changes. */
export function addDays(date: Date, days: number): Date {
  const moved = new Date(date);
  moved.setDate(moved.getDate() + days);
  return moved;
}

export function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** The seven days of the week starting at `weekStart`. */
export function daysOf(weekStart: Date): Date[] {
  return Array.from({ length: 7 }, (_, index) => addDays(weekStart, index));
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "short" });
const shortDayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

const dateFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });

export const formatDay = (date: Date): string => dayFormat.format(date);
/** e.g. "Tue, Dec 2" (en-US) or "Tue 2 Dec" (en-GB). */
export const formatDate = (date: Date): string => dateFormat.format(date);
/** e.g. "6:00 PM–7:00 PM" (en-US), "18:00–19:00" (en-GB): shown on one line (CSS .time), never broken inside. */
export const formatTimeRange = (start: Date, end: Date): string => `${timeFormat.format(start)}–${timeFormat.format(end)}`;

/** e.g. "24 Nov 2025 – 30 Nov 2025" */
export function weekLabel(weekStart: Date): string {
  return `${shortDayFormat.format(weekStart)} – ${shortDayFormat.format(addDays(weekStart, 6))}`;
}

/** The value of an <input type="datetime-local"> (local wall time) as an instant for the API. */
export function localInputToIso(value: string): string | undefined {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The browser's own time zone, named for people, e.g. "Europe/Berlin". */
export const timeZoneName = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;
