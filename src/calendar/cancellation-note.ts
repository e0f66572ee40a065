// The description of a calendar event: when its booked place can be cancelled (the category's
// `cancel_until_minutes_before`, on the slot as `cancellable_until`), in words and in the slot's
// own time zone, so that whoever opens the event in a calendar app sees the deadline where they
// decide (issue 21). The zone's rules come from the runtime's Intl, as in slots/timezone.ts.

const formatters = new Map<string, Intl.DateTimeFormat>();

/** "Sat 5 Dec 2026, 19:00" in `zone` (a zone the slot was validated with; UTC if Intl no longer knows it). */
function wallClock(instant: string, zone: string): string {
  let formatter = formatters.get(zone);
  if (!formatter) {
    const options = { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" } as const;
    try {
      formatter = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: zone });
    } catch {
      formatter = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" });
    }
    formatters.set(zone, formatter);
  }
  return formatter.format(new Date(instant));
}

/**
 * The cancellation deadline of a place on a slot, for an event's DESCRIPTION. `entry`: what the
 * event is, a booked place or an entry that may become one (a hold, a waitlist place), which its
 * holder may give up until the start whatever the deadline.
 */
export function cancellationNote(cancellableUntil: string | null, zone: string, entry: "booked" | "pending" = "booked"): string {
  if (cancellableUntil === null) return entry === "booked" ? "Free cancellation at any time." : "Once booked: free cancellation at any time.";
  const deadline = `${wallClock(cancellableUntil, zone)} (${zone})`;
  return entry === "booked"
    ? `Free cancellation until ${deadline}; after that only the organizer can cancel.`
    : `Once booked: free cancellation until ${deadline}; after that only the organizer can cancel.`;
}
