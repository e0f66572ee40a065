import { useState } from "hono/jsx/dom";
import { errorText, plural, type Booking, type Category, type NewSlot, type Slot } from "./api";
import { cancelLabel, entryText } from "./entry-text";
import { addDays, daysOf, formatDay, formatTimeRange, localInputToIso, sameDay, startOfWeek, timeZoneName, weekLabel } from "./week";

export function AuthForm(props: { error: string; onSubmit: (action: "login" | "register", email: string, password: string) => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const action = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value === "register" ? "register" : "login";
    const data = new FormData(form);
    setBusy(true);
    try {
      await props.onSubmit(action, String(data.get("email") ?? ""), String(data.get("password") ?? ""));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel auth" aria-labelledby="auth-title">
      <h2 id="auth-title">Log in or create an account</h2>
      <p>Book places in classes, consultations, workshops and venues.</p>
      <form onSubmit={submit} aria-describedby={props.error ? "auth-error" : undefined}>
        <div class="field">
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="username" required />
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
        </div>
        <p id="auth-error" class="error" role="alert">
          {props.error}
        </p>
        <div class="buttons">
          <button type="submit" value="login" disabled={busy}>
            Log in
          </button>
          <button type="submit" value="register" class="secondary" disabled={busy}>
            Create account
          </button>
        </div>
      </form>
    </section>
  );
}

export function CategoryPicker(props: { categories: Category[]; chosen: number[]; disabled: boolean; onChange: (ids: number[]) => void }) {
  const change = (event: Event) => {
    const boxes = (event.currentTarget as HTMLFieldSetElement).querySelectorAll<HTMLInputElement>("input:checked");
    props.onChange([...boxes].map((box) => Number(box.value)));
  };
  return (
    <fieldset class="panel categories" disabled={props.disabled} onChange={change}>
      <legend>Categories</legend>
      <p class="hint">Saved for your next visit. None chosen shows every category.</p>
      <div class="choices">
        {props.categories.map((category) => (
          <label key={category.id} class="choice">
            <input type="checkbox" name="category" value={String(category.id)} checked={props.chosen.includes(category.id)} />
            {category.name}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

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
  admin: boolean;
  actions: SlotActions;
};

export function WeekView(props: WeekProps) {
  const today = new Date();
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
  admin: boolean;
  actions: SlotActions;
};

function SlotCard({ slot, category, entry, open, notice, admin, actions }: SlotProps) {
  const start = new Date(slot.start_time);
  const started = start.getTime() <= Date.now();
  const id = `slot-${slot.id}`;
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
        {started ? (
          <span class="hint">Started</span>
        ) : entry ? (
          <button type="button" class="secondary" aria-describedby={`${id}-title`} onClick={() => actions.cancel(entry)}>
            {cancelLabel(entry)}
          </button>
        ) : !full ? (
          <button type="button" aria-describedby={`${id}-title`} onClick={() => actions.book(slot, false)}>
            Book
          </button>
        ) : (
          <button type="button" aria-describedby={`${id}-title`} onClick={() => actions.book(slot, true)}>
            Join waitlist
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
          {admin && <SlotAdmin slot={slot} actions={actions} />}
        </div>
      )}
    </li>
  );
}

function SlotAdmin({ slot, actions }: { slot: Slot; actions: SlotActions }) {
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

/** "YYYY-MM-DDTHH:MM" in local time, as <input type="datetime-local"> takes it. */
function localInputValue(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function NewSlotForm(props: { categories: Category[]; onCreate: (input: NewSlot) => Promise<string | undefined> }) {
  const [error, setError] = useState("");
  const tomorrow = addDays(new Date(), 1);
  tomorrow.setHours(10, 0, 0, 0);
  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const start = localInputToIso(String(data.get("start") ?? ""));
    const end = localInputToIso(String(data.get("end") ?? ""));
    if (!start || !end) {
      setError("Enter a start and an end");
      return;
    }
    setError(
      (await props.onCreate({
        category_id: Number(data.get("category")),
        start_time: start,
        end_time: end,
        max_capacity: Number(data.get("capacity")),
      })) ?? "",
    );
  };
  return (
    <section class="panel" aria-labelledby="new-slot-title">
      <h2 id="new-slot-title">New slot</h2>
      <form class="new-slot" onSubmit={submit} aria-labelledby="new-slot-title">
        <div class="field">
          <label for="new-category">Category</label>
          <select id="new-category" name="category" required>
            {props.categories.map((category) => (
              <option key={category.id} value={String(category.id)}>
                {category.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="new-start">Start</label>
          <input id="new-start" name="start" type="datetime-local" required value={localInputValue(tomorrow)} />
        </div>
        <div class="field">
          <label for="new-end">End</label>
          <input id="new-end" name="end" type="datetime-local" required value={localInputValue(new Date(tomorrow.getTime() + 3_600_000))} />
        </div>
        <div class="field">
          <label for="new-capacity">Capacity</label>
          <input id="new-capacity" name="capacity" type="number" min="1" max="10000" required value="10" />
        </div>
        <p class="error" role="alert">
          {error}
        </p>
        <div class="buttons">
          <button type="submit">Create slot</button>
        </div>
      </form>
    </section>
  );
}

export function FeedPanel(props: { load: () => Promise<{ url: string; webcal_url: string }> }) {
  const [feed, setFeed] = useState<{ url: string; webcal_url: string } | undefined>(undefined);
  const [message, setMessage] = useState("");
  const show = async () => {
    setMessage("");
    try {
      setFeed(await props.load());
    } catch (error) {
      setMessage(errorText(error));
    }
  };
  const copy = async () => {
    if (!feed) return;
    try {
      await navigator.clipboard.writeText(feed.url);
      setMessage("Link copied");
    } catch {
      setMessage("Copying is not allowed here; select the link and copy it");
    }
  };
  return (
    <section class="panel" aria-labelledby="feed-title">
      <h2 id="feed-title">Subscribe in a calendar</h2>
      <p class="hint">Your bookings as a private calendar feed: add it "from URL" in Google Calendar, Apple Calendar or Outlook.</p>
      {!feed ? (
        <button type="button" class="secondary" onClick={show}>
          Show my feed link
        </button>
      ) : (
        <div class="feed">
          <label for="feed-url">Feed URL</label>
          <input id="feed-url" type="text" readonly value={feed.url} />
          <div class="buttons">
            <button type="button" class="secondary" onClick={copy}>
              Copy link
            </button>
            <a href={feed.webcal_url}>Open in your calendar app</a>
          </div>
        </div>
      )}
      <p class="hint" role="status">
        {message}
      </p>
    </section>
  );
}
