// A slot's booking policy (issue 21) in the page's words: whether a new entry on it, or its owner's
// cancelling of a booked place, is refused at a given moment, the short sentence that says why or
// until when, and the next instant at which that changes. The API enforces the rules (409
// booking_not_open, booking_closed, cancellation_closed); the page only shows them where people
// decide, from the slot's own instants, so that the two never disagree about a deadline.
import type { Booking, Slot } from "./api";

/** What the page says about a rule: `blocks` when the action it sits by is refused now. */
export type PolicyNote = { text: string; blocks: boolean };

type BookingWindow = Pick<Slot, "booking_opens_at" | "booking_closes_at">;
/** Until when the owner may give up a booked place: a slot's fields, which an entry of GET /bookings carries too. */
type CancellationTerms = Pick<Slot, "start_time" | "cancellable_until">;
/** The instants at which what a card or an entry shows changes; an entry has no booking window. */
type TimedRules = Pick<Slot, "start_time"> & Partial<BookingWindow & CancellationTerms>;

/** Within six days a weekday names one day only; further away it needs the date. */
const WEEKDAY_IS_ENOUGH_MS = 6 * 86_400_000;
const clock = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" } as const;
const soonFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", ...clock });
const laterFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", ...clock });

/** "Mon 08:00" (24 h, local), or "Mon, Dec 7, 08:00" (en-US) when more than six days after `now`. */
function moment(iso: string, now: number): string {
  const at = new Date(iso);
  return (at.getTime() - now > WEEKDAY_IS_ENOUGH_MS ? laterFormat : soonFormat).format(at);
}

/** Why a new entry on the slot (a place, a hold, a waitlist place) is refused at `now`, if it is. */
export function bookingNote(slot: BookingWindow, now: number): PolicyNote | undefined {
  if (slot.booking_opens_at && now < Date.parse(slot.booking_opens_at)) {
    return { text: `Booking opens ${moment(slot.booking_opens_at, now)}`, blocks: true };
  }
  if (slot.booking_closes_at && now >= Date.parse(slot.booking_closes_at)) return { text: "Booking closed", blocks: true };
  return undefined;
}

/**
 * The owner's cancellation deadline of a booked place: while ahead, until when it may be given up;
 * once passed, that giving it up (or moving it, which gives it up) is refused. Nothing for a hold or
 * a waitlist place (given up until the start), for no deadline, nor for a deadline
 * at the start itself (the default), which "Started" tells.
 */
export function cancellationNote(entry: Pick<Booking, "status">, terms: CancellationTerms, now: number): PolicyNote | undefined {
  if (entry.status !== "BOOKED" || !terms.cancellable_until) return undefined;
  const until = terms.cancellable_until;
  if (Date.parse(until) >= Date.parse(terms.start_time)) return undefined;
  return now < Date.parse(until) ? { text: `Free cancellation until ${moment(until, now)}`, blocks: false } : { text: "Cancellation closed", blocks: true };
}

/** The first instant after `now` at which a note above or a "Started" changes: when to render again. */
export function nextRuleChange(items: readonly TimedRules[], now: number): number | undefined {
  let next: number | undefined;
  for (const item of items) {
    for (const iso of [item.start_time, item.booking_opens_at, item.booking_closes_at, item.cancellable_until]) {
      const at = iso ? Date.parse(iso) : NaN;
      if (at > now && (next === undefined || at < next)) next = at;
    }
  }
  return next;
}

/** The `aria-describedby` of an action: its slot or entry title, and the note beside it, if any. */
export const describedBy = (titleId: string, noteId: string, note: PolicyNote | undefined): string => (note ? `${titleId} ${noteId}` : titleId);
