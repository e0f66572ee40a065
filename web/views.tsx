// The page's forms and panels: logging in, the category choice, the admin's New slot form and the
// calendar feed. The week of slots is ./week-view.tsx.
import { useState } from "hono/jsx/dom";
import { errorText, type Category, type NewSlot } from "./api";
import { addDays, localInputToIso } from "./week";

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
