import { z } from "@hono/zod-openapi";
import { invalidValue } from "../errors/catalogue";
import { TimeZoneInput, wallClockToUtc } from "./timezone";

// Recurring series (POST /admin/slots/series): the subset of RFC 5545 RRULE that the route
// documents, expanded in local wall-clock dates so that 09:00 stays 09:00 across DST changes; each
// local time becomes an instant through Temporal (timezone.ts). Hand-written rather than the
// `rrule` package (+13 KiB gzipped, README "Bundle"), and narrow on purpose: anything outside the
// subset is refused, never half-understood.

export const MAX_OCCURRENCES = 500;
const DAY_MS = 86_400_000;
const FIRST_INSTANT_MS = Date.UTC(1970, 0, 1);
const LAST_INSTANT_MS = Date.UTC(9999, 0, 1);
const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;

/** The supported RRULE: FREQ=DAILY|WEEKLY, INTERVAL, BYDAY (plain days), and COUNT or UNTIL. */
export type Recurrence = {
  frequency: "DAILY" | "WEEKLY";
  interval: number;
  /** Weekdays, 0 = Monday; empty: every day (DAILY) or the first occurrence's weekday (WEEKLY). */
  byDay: number[];
  count?: number;
  /** Inclusive bound: an instant (UNTIL=...Z) or a local wall-clock time (UNTIL=YYYYMMDD[THHMMSS]). */
  until?: { utcMs: number } | { wallClockMs: number };
};

const refuse = (message: string) => invalidValue("rrule", message);

function parseUntil(value: string): Recurrence["until"] {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(value);
  if (!match) throw refuse("UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSSZ");
  const [year, month, day, hour = 23, minute = 59, second = 59] = match.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part)));
  const ms = Date.UTC(year!, month! - 1, day!, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) throw refuse("UNTIL is not a real date");
  return match[7] ? { utcMs: ms } : { wallClockMs: ms };
}

/** Parses an RRULE value (with or without the `RRULE:` prefix); any other rule part is a 422 naming `rrule`. */
export function parseRecurrence(text: string): Recurrence {
  const parts = new Map<string, string>();
  for (const part of text.replace(/^RRULE:/i, "").split(";")) {
    const [name, value, extra] = part.split("=");
    if (!name || value === undefined || extra !== undefined) throw refuse(`"${part}" is not NAME=VALUE`);
    if (parts.has(name.toUpperCase())) throw refuse(`${name} is given twice`);
    parts.set(name.toUpperCase(), value.toUpperCase());
  }
  const unsupported = [...parts.keys()].filter((name) => !["FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL"].includes(name));
  if (unsupported.length > 0) throw refuse(`unsupported rule part ${unsupported.join(", ")}: only FREQ, INTERVAL, BYDAY, COUNT and UNTIL`);
  const frequency = parts.get("FREQ");
  if (frequency !== "DAILY" && frequency !== "WEEKLY") throw refuse("FREQ must be DAILY or WEEKLY");
  const whole = (name: string, max: number): number | undefined => {
    const value = parts.get(name);
    if (value === undefined) return undefined;
    if (!/^\d{1,6}$/.test(value) || Number(value) < 1 || Number(value) > max) throw refuse(`${name} must be a whole number from 1 to ${max}`);
    return Number(value);
  };
  const interval = whole("INTERVAL", 1000) ?? 1;
  const count = whole("COUNT", MAX_OCCURRENCES);
  const until = parts.has("UNTIL") ? parseUntil(parts.get("UNTIL")!) : undefined;
  if (count !== undefined && until !== undefined) throw refuse("give COUNT or UNTIL, not both");
  if (count === undefined && until === undefined) throw refuse(`give COUNT or UNTIL: a series has at most ${MAX_OCCURRENCES} occurrences`);
  const byDay = (parts.get("BYDAY")?.split(",") ?? []).map((day) => {
    const index = WEEKDAYS.indexOf(day as (typeof WEEKDAYS)[number]);
    if (index < 0) throw refuse(`BYDAY takes MO, TU, WE, TH, FR, SA, SU (no ordinals), got "${day}"`);
    return index;
  });
  return { frequency, interval, byDay: [...new Set(byDay)].sort(), count, until };
}

/**
 * The start instants (ms) of the series beginning at the local wall-clock time `firstMs` (written
 * as if UTC) in `zone`: every date that the rule selects, on or after the first, at the first's
 * time of day, read in the zone as RFC 5545 says (timezone.ts). As in most implementations
 * (dateutil, rrule.js), a first start that the rule does not select is not an occurrence. The
 * occurrences are a set (RFC 5545, 3.8.5.3): a date whose local time a skipped day moved onto the
 * next one's instant (Pacific/Apia, 30 December 2011) is one occurrence, counted once. More than
 * MAX_OCCURRENCES is a 422, and so is an instant before 1970 in UTC, as POST /admin/slots refuses it.
 */
export function expandRecurrence(rule: Recurrence, zone: string, firstMs: number): number[] {
  const firstDay = Math.floor(firstMs / DAY_MS);
  const timeOfDay = firstMs - firstDay * DAY_MS;
  const weekdayOf = (day: number) => (day + 3) % 7; // day 0 (1970-01-01) was a Thursday
  const days = rule.byDay.length > 0 ? rule.byDay : rule.frequency === "WEEKLY" ? [weekdayOf(firstDay)] : [0, 1, 2, 3, 4, 5, 6];
  // Periods of 1 day (DAILY) or 1 week starting on Monday (WEEKLY, WKST=MO), every INTERVAL-th.
  const periodDays = rule.frequency === "DAILY" ? 1 : 7;
  const firstPeriodStart = rule.frequency === "DAILY" ? firstDay : firstDay - weekdayOf(firstDay);
  const starts: number[] = [];
  // Weekdays of DAILY periods repeat every 7 periods: 8 in a row without a match mean none ever.
  for (let period = firstPeriodStart, barren = 0; barren <= 8; period += periodDays * rule.interval) {
    barren++;
    for (let day = period; day < period + periodDays; day++) {
      if (day < firstDay || !days.includes(weekdayOf(day))) continue;
      barren = 0;
      const wallClock = day * DAY_MS + timeOfDay;
      const start = wallClockToUtc(zone, wallClock);
      const until = rule.until;
      if (until && ("utcMs" in until ? start > until.utcMs : wallClock > until.wallClockMs)) return starts;
      if (start <= (starts.at(-1) ?? -Infinity)) continue;
      if (start < FIRST_INSTANT_MS) {
        throw invalidValue("first_start_local", `is ${new Date(start).toISOString().slice(0, 19)}Z in UTC: slots start from 1970 to 9999 in UTC`);
      }
      if (starts.length === MAX_OCCURRENCES) throw refuse(`the series has more than ${MAX_OCCURRENCES} occurrences; create it in parts`);
      if (start >= LAST_INSTANT_MS) throw refuse("the series runs past the year 9999");
      starts.push(start);
      if (starts.length === rule.count) return starts;
    }
  }
  return starts;
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** A local wall-clock time without a zone, e.g. 2027-03-22T09:00, as ms written as if UTC. */
const LocalDateTimeInput = z
  .string()
  .transform((text, ctx) => {
    const match = LOCAL_DATE_TIME.exec(text);
    const [year, month, day, hour, minute, second = 0] = (match?.slice(1, 7) ?? []).map((part) => Number(part ?? 0));
    const ms = Date.UTC(year, month - 1, day, hour, minute, second);
    if (!match || year < 1970 || new Date(ms).getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      ctx.addIssue({ code: "custom", message: "Expected a local date and time without zone, e.g. 2027-03-22T09:00" });
      return z.NEVER;
    }
    return ms;
  })
  .openapi({ type: "string", example: "2027-03-22T09:00", description: "Wall-clock time in `timezone` of the first occurrence" });

export const NewSeries = z
  .object({
    category_id: z.number().int().positive(),
    timezone: TimeZoneInput.optional().default("UTC"),
    first_start_local: LocalDateTimeInput,
    duration_minutes: z.number().int().min(1).max(24 * 60),
    rrule: z.string().max(500).openapi({
      example: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=12",
      description:
        "RFC 5545 RRULE, restricted to FREQ=DAILY|WEEKLY, INTERVAL, BYDAY (MO..SU, no ordinals) and exactly one of " +
        `COUNT or UNTIL (YYYYMMDD, local; or YYYYMMDDTHHMMSSZ). At most ${MAX_OCCURRENCES} occurrences; anything else is a 422 naming \`rrule\`.`,
    }),
    max_capacity: z.number().int().min(1).max(10_000),
  })
  .openapi("NewSeries");
