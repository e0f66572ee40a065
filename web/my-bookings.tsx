// "My bookings": the person's upcoming entries (booked, held with its countdown, waitlisted with
// its place in line), each with what can be done to it: cancel, confirm a hold, move to another
// slot of the same category, or show its week.
import { useEffect, useState } from "hono/jsx/dom";
import { errorText, type Booking, type Slot } from "./api";
import { cancelLabel, entryText } from "./entry-text";
import { formatDate, formatTimeRange } from "./week";

export type EntryActions = {
  /** Each answers why it failed, or undefined when it was done. */
  cancel(booking: Booking): Promise<string | undefined>;
  confirm(booking: Booking): Promise<string | undefined>;
  reschedule(booking: Booking, slot: Slot): Promise<string | undefined>;
  /** The slots the booking could move to: upcoming ones of its category. */
  alternatives(booking: Booking): Promise<Slot[]>;
  show(booking: Booking): void;
};

type Props = {
  /** undefined while loading. */
  entries: Booking[] | undefined;
  categoryName: Map<number, string>;
  actions: EntryActions;
};

/** The current time, once a second while `ticking`: for the countdown of holds. */
function useClock(ticking: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}

export function MyBookings({ entries, categoryName, actions }: Props) {
  const now = useClock((entries ?? []).some((entry) => entry.status === "HELD"));
  return (
    <section class="panel my-bookings" aria-labelledby="my-bookings-title">
      <h2 id="my-bookings-title">My bookings</h2>
      {entries === undefined ? (
        <p>Loading your bookings…</p>
      ) : entries.length === 0 ? (
        <p class="hint">No upcoming bookings. Book a slot in the week below.</p>
      ) : (
        <ul class="entries">
          {entries.map((entry) => (
            <Entry
              key={entry.id}
              entry={entry}
              category={categoryName.get(entry.category_id) ?? `Category ${entry.category_id}`}
              taken={new Set(entries.map((other) => other.time_slot_id))}
              now={now}
              actions={actions}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

type EntryProps = { entry: Booking; category: string; taken: Set<number>; now: number; actions: EntryActions };

function Entry({ entry, category, taken, now, actions }: EntryProps) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [moving, setMoving] = useState(false);
  const id = `entry-${entry.id}`;
  const run = async (action: () => Promise<string | undefined>) => {
    setBusy(true);
    setError((await action()) ?? "");
    setBusy(false);
  };
  const start = new Date(entry.start_time);
  return (
    <li class="entry-item" data-booking-id={String(entry.id)} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} class="entry-title">
        <button type="button" class="link" onClick={() => actions.show(entry)}>
          <span class="nowrap">{formatDate(start)}</span> <span class="time">{formatTimeRange(start, new Date(entry.end_time))}</span>
        </button>{" "}
        <span class="category">{category}</span>
      </h3>
      <p class="entry-status">
        {entryText(entry, now)}
      </p>
      <div class="buttons">
        {entry.status === "HELD" && (
          <button type="button" disabled={busy} aria-describedby={`${id}-title`} onClick={() => run(() => actions.confirm(entry))}>
            Confirm
          </button>
        )}
        {entry.status === "BOOKED" && !moving && (
          <button type="button" class="secondary" disabled={busy} aria-describedby={`${id}-title`} onClick={() => setMoving(true)}>
            Reschedule
          </button>
        )}
        <button type="button" class="secondary" disabled={busy} aria-describedby={`${id}-title`} onClick={() => run(() => actions.cancel(entry))}>
          {cancelLabel(entry)}
        </button>
      </div>
      {moving && (
        <Reschedule
          entry={entry}
          taken={taken}
          actions={actions}
          onDone={async (slot) => {
            if (slot) await run(() => actions.reschedule(entry, slot));
            setMoving(false);
          }}
        />
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

type RescheduleProps = { entry: Booking; taken: Set<number>; actions: EntryActions; onDone(slot: Slot | undefined): Promise<void> };

/** Picks another upcoming slot of the entry's category with a free place and no entry of the person's. */
function Reschedule({ entry, taken, actions, onDone }: RescheduleProps) {
  const [choices, setChoices] = useState<Slot[] | undefined>(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    actions.alternatives(entry).then(
      (slots) => setChoices(slots.filter((slot) => slot.available_spots > 0 && !taken.has(slot.id) && new Date(slot.start_time).getTime() > Date.now())),
      (failure) => setError(errorText(failure)),
    );
  }, [entry.id]);
  const selectId = `entry-${entry.id}-target`;
  const submit = (event: Event) => {
    event.preventDefault();
    const target = Number(new FormData(event.currentTarget as HTMLFormElement).get("target"));
    void onDone(choices?.find((slot) => slot.id === target));
  };
  if (error) return <p class="error" role="alert">{`Could not load other slots: ${error}`}</p>;
  if (choices === undefined) return <p class="hint">Looking for other slots…</p>;
  return (
    <form class="reschedule inline" onSubmit={submit}>
      {choices.length === 0 ? (
        <p class="hint">No other upcoming slot of this category has a free place.</p>
      ) : (
        <>
          <label for={selectId}>Move to</label>
          <select id={selectId} name="target" required>
            {choices.map((slot) => (
              <option key={slot.id} value={String(slot.id)}>
                {`${formatDate(new Date(slot.start_time))} ${formatTimeRange(new Date(slot.start_time), new Date(slot.end_time))}`}
              </option>
            ))}
          </select>
          <button type="submit">Move booking</button>
        </>
      )}
      <button type="button" class="secondary" onClick={() => void onDone(undefined)}>
        Keep it
      </button>
    </form>
  );
}
