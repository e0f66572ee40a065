// A category's booking policy on the admin's list (issue 21): its four rules in one short line of
// words, the inline form that sets them, and the PATCH that saves them with the API's refusal in the
// form's words. The API checks the rules (bounds, a booking window that would be empty); the form
// only bounds its inputs with the API's own bounds (src/categories/policy-bounds.ts). README,
// "Booking policies".
import { useLayoutEffect, useRef } from "hono/jsx/dom";
import { POLICY_BOUNDS } from "../src/categories/policy-bounds";
import { api, ApiError, asCaller, ok, type Category } from "./api";

/** The policy's rules: every field of a category but its identity, each a number or null for none. */
export type PolicyKey = Exclude<keyof Category, "id" | "name" | "archived_at">;
export type Policy = Pick<Category, PolicyKey>;

type RuleInput = { label: string; hint: string };

/** Each rule's field in the form. */
const RULES = {
  booking_opens_hours_before: { label: "Booking opens (hours before start)", hint: "Empty: open as soon as the slot exists" },
  booking_closes_minutes_before: { label: "Booking closes (minutes before start)", hint: "Empty: open until the start" },
  cancel_until_minutes_before: { label: "Free cancellation until (minutes before start)", hint: "0: until the start. Empty: no deadline, even after the start" },
  max_active_per_user: { label: "Most live bookings per person", hint: "Booked, held or waiting, in slots not ended. Empty: no limit" },
} satisfies Record<PolicyKey, RuleInput>;

const KEYS = Object.keys(RULES) as PolicyKey[];

/** A record of every rule, each from `value`. */
const eachRule = <T,>(value: (key: PolicyKey) => T) => Object.fromEntries(KEYS.map((key) => [key, value(key)])) as Record<PolicyKey, T>;

/** "90 min", "12 h", "2 h 30 min": minutes under two hours as minutes, longer ones in hours. */
function duration(minutes: number): string {
  if (minutes < 120) return `${minutes} min`;
  const rest = minutes % 60;
  return rest === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${rest} min`;
}

/**
 * The policy in short words, only the rules that differ from none: "Opens 168 h before · closes 60 min
 * before · free cancellation until 12 h before · at most 3 per person", or "No booking rules".
 * Cancellation until the start (0) is every category's default and goes unsaid.
 */
export function policyText(policy: Policy): string {
  const opens = policy.booking_opens_hours_before;
  const closes = policy.booking_closes_minutes_before;
  const cancel = policy.cancel_until_minutes_before;
  const most = policy.max_active_per_user;
  const parts = [
    opens !== null && `opens ${opens} h before`,
    closes !== null && (closes === 0 ? "closes at the start" : `closes ${duration(closes)} before`),
    cancel === null ? "cancellation any time, even after the start" : cancel > 0 && `free cancellation until ${duration(cancel)} before`,
    most !== null && `at most ${most} per person`,
  ].filter((part): part is string => typeof part === "string");
  const text = parts.join(" · ");
  return text === "" ? "No booking rules" : text.charAt(0).toUpperCase() + text.slice(1);
}

/** The API's refusal of `policy` said as the form says it: a rule by its label, an empty window with what was asked. */
function refusal(error: unknown, policy: Policy): unknown {
  if (!(error instanceof ApiError)) return error;
  const opens = policy.booking_opens_hours_before;
  const closes = policy.booking_closes_minutes_before;
  if (error.code === "booking_window_empty" && opens !== null && closes !== null) {
    const asked = `opens ${opens} h before the start, closes ${duration(closes)} before`;
    return new ApiError(error.status, error.code, `Booking would close before it opens (${asked}): open it earlier or close it later`);
  }
  const text = KEYS.reduce((message, key) => message.replace(new RegExp(`\\b${key}\\b`, "gi"), RULES[key].label), error.message);
  return new ApiError(error.status, error.code, text);
}

/** The change that saves all four rules of `category` (for CategoriesAdmin's `change`); a refusal in the form's words. */
export const savePolicy = (category: Category, policy: Policy) => async (token: string) => {
  try {
    return await ok(api.admin.categories[":category_id"].$patch({ param: { category_id: String(category.id) }, json: policy }, asCaller(token)));
  } catch (error) {
    throw refusal(error, policy);
  }
};

type FormProps = { category: Category; onSave(policy: Policy): void; onCancel(): void };

/** The rules of `category` to change, each field filled with its rule (empty for none). */
export function PolicyForm({ category, onSave, onCancel }: FormProps) {
  const fieldId = (key: PolicyKey) => `category-${category.id}-${key}`;
  const legendId = `category-${category.id}-rules-title`;
  // The form replaces the Booking rules button that had the focus: its first field takes it.
  const first = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => {
    first.current?.focus();
  }, []);
  const submit = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    onSave(
      eachRule((key) => {
        const text = String(data.get(key) ?? "").trim();
        return text === "" ? null : Number(text);
      }),
    );
  };
  return (
    <form class="category-rules" onSubmit={submit} aria-labelledby={legendId} onKeyDown={(event: KeyboardEvent) => event.key === "Escape" && onCancel()}>
      <fieldset>
        <legend id={legendId}>Booking rules of {category.name}</legend>
        {KEYS.map((key, index) => (
          <div class="field" key={key}>
            <label for={fieldId(key)}>{RULES[key].label}</label>
            <input
              id={fieldId(key)}
              ref={index === 0 ? first : undefined}
              name={key}
              type="number"
              inputMode="numeric"
              step={1}
              min={POLICY_BOUNDS[key].min}
              max={POLICY_BOUNDS[key].max}
              value={category[key] === null ? "" : String(category[key])}
              aria-describedby={`${fieldId(key)}-hint`}
            />
            <span class="hint" id={`${fieldId(key)}-hint`}>
              {RULES[key].hint}
            </span>
          </div>
        ))}
      </fieldset>
      <div class="buttons">
        <button type="submit">Save rules</button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
