// The week of slots: seven days, each slot's card with the person's entry and actions, and, for an
// admin, the opened slot's admin area.
import { plural, type Booking, type Slot } from "./api";
import { cancelLabel, entryText } from "./entry-text";
import { useClock } from "./hooks/use-clock";
import type { Caller } from "./hooks/use-session";
import { bookingNote, cancellationNote, describedBy, nextRuleChange } from "./policy-text";
import { Roster } from "./roster";
import { addDays, daysOf, formatDay, formatTimeRange, sameDay, startOfWeek, timeZoneName, weekLabel } from "./week";

export type SlotActions = {
  book(slot: Slot, waitlist: boolean): void;
  cancel(booking: Booking): void;
  toggle(slot: Slot): void;
  setCapacity(slot: Slot, capacity: number): void;
  remove(slot: Slot): void;
};

type WeekProps = {
  weekStart: Date;
  onWeek(start: Date): void;
  slots: Slot[] | undefined;
  categoryName: Map<number, string>;
  bookings: Booking[];
  opened: number[];
  notices: Record<number, string>;
  /** How an admin calls the API from an opened slot (its roster); undefined for everyone else, who see no admin area. */
  admin: Caller | undefined;
  actions: SlotActions;
};

export function WeekView(props: WeekProps) {
  // Renders again when a slot starts, or its booking opens or closes, or its cancellation deadline passes.
  const now = useClock((at) => nextRuleChange(props.slots ?? [], at));
  const today = new Date(now);
  const entryOf = new Map(props.bookings.map((booking) => [booking.time_slot_id, booking]));
  return (
    <section class="week-view" aria-labelledby="week-title">
      <div class="week-head">
        <h2 id="week-title">Week of {weekLabel(props.weekStart)}</h2>
        <nav class="week-nav" aria-label="Weeks">
          <button type="button" class="secondary" onClick={() => props.onWeek(addDays(props.weekStart, -7))}>
            Previous week
          </button>
          <button type="button" class="secondary" onClick={() => props.onWeek(startOfWeek(new Date()))}>
            This week
          </button>
          <button type="button" class="secondary" onClick={() => props.onWeek(addDays(props.weekStart, 7))}>
            Next week
          </button>
        </nav>
      </div>
      <p class="hint">Times are in your time zone ({timeZoneName()}).</p>
      {props.slots === undefined ? (
        <p>Loading slots…</p>
      ) : (
        <ol class="days">
          {daysOf(props.weekStart).map((day) => {
            const isToday = sameDay(day, today);
            const daySlots = props.slots!.filter((slot) => sameDay(new Date(slot.start_time), day));
            return (
              <li key={day.getTime()} class={isToday ? "day today" : "day"}>
                <h3 aria-current={isToday ? "date" : undefined}>
                  {formatDay(day)}
                  {isToday && <span class="today-mark"> · Today</span>}
                </h3>
                {daySlots.length === 0 ? (
                  <p class="none">No slots</p>
                ) : (
                  <ul class="slots">
                    {daySlots.map((slot) => (
                      <SlotCard
                        key={slot.id}
                        slot={slot}
                        category={props.categoryName.get(slot.category_id) ?? `Category ${slot.category_id}`}
                        entry={entryOf.get(slot.id)}
                        open={props.opened.includes(slot.id)}
                        notice={props.notices[slot.id] ?? ""}
                        admin={props.admin}
                        actions={props.actions}
                        now={now}
                      />
                    ))}
                  </ul>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

type SlotProps = {
  slot: Slot;
  category: string;
  entry: Booking | undefined;
  open: boolean;
  notice: string;
  admin: Caller | undefined;
  actions: SlotActions;
  now: number;
};

function SlotCard({ slot, category, entry, open, notice, admin, actions, now }: SlotProps) {
  const start = new Date(slot.start_time);
  const started = start.getTime() <= now;
  const id = `slot-${slot.id}`;
  // The person's own entry: the owner's cancellation deadline (an admin cancels others' in the roster).
  const rule = started ? undefined : entry ? cancellationNote(entry, slot, now) : bookingNote(slot, now);
  const ruleId = `${id}-rule`;
  const described = describedBy(`${id}-title`, ruleId, rule);
  const full = slot.available_spots === 0;
  const classes = ["slot", full ? "full" : "", entry ? "mine" : "", started ? "past" : ""].filter(Boolean).join(" ");
  return (
    <li class={classes} data-slot-id={String(slot.id)} aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`} class="slot-title">
        <button type="button" class="link" aria-expanded={open ? "true" : "false"} aria-controls={`${id}-details`} onClick={() => actions.toggle(slot)}>
          <span class="time">{formatTimeRange(start, new Date(slot.end_time))}</span>{" "}
          <span class="category">{category}</span>
        </button>
      </h4>
      <p class="spots" id={`${id}-spots`}>
        {full ? "Full" : `${plural(slot.available_spots, "spot")} left`}
        {slot.waitlist_length ? ` · ${slot.waitlist_length} waiting` : ""}
      </p>
      {entry && <p class="entry">{entryText(entry)}</p>}
      <div class="slot-actions">
        {rule && (
          <p class="hint rule" id={ruleId}>
            {rule.text}
          </p>
        )}
        {started ? (
          <span class="hint">Started</span>
        ) : entry ? (
          <button type="button" class="secondary" disabled={rule?.blocks} aria-describedby={described} onClick={() => actions.cancel(entry)}>
            {cancelLabel(entry)}
          </button>
        ) : (
          <button type="button" disabled={rule?.blocks} aria-describedby={described} onClick={() => actions.book(slot, full)}>
            {full ? "Join waitlist" : "Book"}
          </button>
        )}
      </div>
      {notice && (
        <p class="error" role="alert">
          {notice}
        </p>
      )}
      {open && (
        <div class="details" id={`${id}-details`}>
          <p>
            {slot.max_capacity - slot.available_spots} of {slot.max_capacity} places taken
          </p>
          <p>
            <a href={`/slots/${slot.id}/event.ics`} aria-describedby={`${id}-title`}>
              Add to calendar
            </a>{" "}
            <span class="hint">(an .ics file)</span>
          </p>
          {admin && <SlotAdmin slot={slot} actions={actions} caller={admin} />}
        </div>
      )}
    </li>
  );
}

function SlotAdmin({ slot, actions, caller }: { slot: Slot; actions: SlotActions; caller: Caller }) {
  const inputId = `slot-${slot.id}-capacity`;
  const save = (event: Event) => {
    event.preventDefault();
    const value = Number(new FormData(event.currentTarget as HTMLFormElement).get("capacity"));
    actions.setCapacity(slot, value);
  };
  const remove = () => {
    if (confirm("Delete this slot? Its bookings are cancelled.")) actions.remove(slot);
  };
  return (
    <div class="slot-admin">
      <Roster slot={slot} caller={caller} />
      <form class="inline" onSubmit={save}>
        <label for={inputId}>New capacity</label>
        <input id={inputId} name="capacity" type="number" min="1" max="10000" required value={String(slot.max_capacity)} />
        <button type="submit" class="secondary">
          Save capacity
        </button>
      </form>
      <button type="button" class="danger" onClick={remove}>
        Delete slot
      </button>
    </div>
  );
}
