// "My bookings": the person's upcoming entries (booked, held with its countdown, waitlisted with
// its place in line), each with what can be done to it: cancel, confirm a hold, move to another
// slot of the same category, or show its week. A booked place past its cancellation deadline can
// be neither cancelled nor moved by its owner, as the API rules.
import { useEffect, useState } from "hono/jsx/dom";
import { errorText, type Booking, type Slot } from "./api";
import { cancelLabel, entryText, nextCountdownChange } from "./entry-text";
import { earliest, useClock } from "./hooks/use-clock";
import { bookingNote, cancellationNote, describedBy, nextRuleChange } from "./policy-text";
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

export function MyBookings({ entries, categoryName, actions }: Props) {
  // Renders again at a hold's next second, and when a cancellation deadline passes.
  const now = useClock((at) => earliest([nextRuleChange(entries ?? [], at), ...(entries ?? []).map((entry) => nextCountdownChange(entry, at))]));
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
  const rule = cancellationNote(entry, entry, now);
  const ruleId = `${id}-rule`;
  const described = describedBy(`${id}-title`, ruleId, rule);
  // A move gives up the booked place: once its owner may not cancel it, the open form goes too.
  const movable = !rule?.blocks;
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
      {rule && (
        <p class="hint rule" id={ruleId}>
          {rule.text}
        </p>
      )}
      <div class="buttons">
        {entry.status === "HELD" && (
          <button type="button" disabled={busy} aria-describedby={`${id}-title`} onClick={() => run(() => actions.confirm(entry))}>
            Confirm
          </button>
        )}
        {entry.status === "BOOKED" && !(moving && movable) && (
          <button type="button" class="secondary" disabled={busy || !movable} aria-describedby={described} onClick={() => setMoving(true)}>
            Reschedule
          </button>
        )}
        <button type="button" class="secondary" disabled={busy || rule?.blocks} aria-describedby={described} onClick={() => run(() => actions.cancel(entry))}>
          {cancelLabel(entry)}
        </button>
      </div>
      {moving && movable && (
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
      (slots) => {
        const now = Date.now();
        // The target is booked as any new place is: not started, and its booking open (policy-text).
        const open = (slot: Slot) => new Date(slot.start_time).getTime() > now && !bookingNote(slot, now)?.blocks;
        setChoices(slots.filter((slot) => slot.available_spots > 0 && !taken.has(slot.id) && open(slot)));
      },
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
