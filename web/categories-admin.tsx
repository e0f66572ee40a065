// The admin's catalogue of categories: add one, rename one with an inline form, set its booking
// rules with another (category-policy.tsx, which also says them beside its name), remove one after
// a confirmation. The API's refusal (a name taken, a category with slots still to come, a booking
// window that would be empty) is shown with the category it concerns; after every change the page
// loads the categories again.
import { useEffect, useLayoutEffect, useRef, useState } from "hono/jsx/dom";
import { api, asCaller, errorText, ok, type Category } from "./api";
import type { SessionControls } from "./hooks/use-session";
import { PolicyForm, policyText, savePolicy, type Policy } from "./category-policy";
import "./categories-admin.css";

type Props = {
  categories: Category[];
  asUser: SessionControls["asUser"];
  /** Loads the page's categories again: the list, the picker and the New slot form follow. */
  onChanged(): Promise<void>;
  onStatus(text: string): void;
};

/** Where a refusal is shown: on a category (its id), or on the form that adds one. */
type Place = number | "new";
/** The inline form open, if any: a category's new name, or its booking rules. */
type Editing = { id: number; form: "name" | "rules" };

const renameButtonId = (category: Category) => `category-${category.id}-rename`;
const rulesButtonId = (category: Category) => `category-${category.id}-rules`;

export function CategoriesAdmin({ categories, asUser, onChanged, onStatus }: Props) {
  const [editing, setEditing] = useState<Editing | undefined>(undefined);
  const [errors, setErrors] = useState<Partial<Record<Place, string>>>({});
  // The element (by id) that takes the keyboard focus after the next render, which makes it or
  // removes the one that had it.
  const [focusWanted, focusSoon] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (focusWanted === undefined) return;
    document.getElementById(focusWanted)?.focus();
    focusSoon(undefined);
  }, [focusWanted]);
  // One change at a time. Buttons stay enabled (a disabled one would drop the keyboard focus): a second click waits for nothing and does nothing.
  const busy = useRef(false);

  /** Runs one change as the admin; answers whether it was made (else its refusal is shown at `place`). */
  async function change(place: Place, call: (token: string) => Promise<unknown>, done: string): Promise<boolean> {
    if (busy.current) return false;
    busy.current = true;
    setErrors({});
    try {
      await asUser(call);
      onStatus(done);
      await onChanged();
      return true;
    } catch (error) {
      setErrors({ [place]: errorText(error) });
      return false;
    } finally {
      busy.current = false;
    }
  }

  const param = (category: Category) => ({ param: { category_id: String(category.id) } });
  const rename = async (category: Category, name: string) => {
    const renamed = await change(
      category.id,
      (token) => ok(api.admin.categories[":category_id"].$patch({ ...param(category), json: { name } }, asCaller(token))),
      `Category renamed to ${name}`,
    );
    if (!renamed) return;
    setEditing(undefined);
    focusSoon(renameButtonId(category));
  };
  const saveRules = async (category: Category, policy: Policy) => {
    if (!(await change(category.id, savePolicy(category, policy), `Booking rules of ${category.name} saved`))) return;
    setEditing(undefined);
    focusSoon(rulesButtonId(category));
  };
  /** Closes the inline form without a change; the focus goes back to the button that opened it. */
  const close = (buttonId: string) => {
    setEditing(undefined);
    setErrors({});
    focusSoon(buttonId);
  };
  const open = (category: Category, form: Editing["form"]) => {
    setErrors({});
    setEditing({ id: category.id, form });
  };
  const remove = async (category: Category) => {
    if (!confirm(`Remove the category "${category.name}"? It leaves everyone's saved choice; past slots keep it.`)) return;
    const removed = await change(category.id, (token) => ok(api.admin.categories[":category_id"].$delete(param(category), asCaller(token))), `Category ${category.name} removed`);
    if (removed) focusSoon("new-category-name");
  };
  const add = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = String(new FormData(form).get("name") ?? "");
    if (await change("new", (token) => ok(api.admin.categories.$post({ json: { name } }, asCaller(token))), `Category ${name} added`)) form.reset();
  };

  return (
    <section class="panel" aria-labelledby="categories-admin-title">
      <h2 id="categories-admin-title">Manage categories</h2>
      <p class="hint">A category with slots still to come cannot be removed; one that past slots name stays in their history.</p>
      <ul class="category-list">
        {categories.map((category) => (
          <li key={category.id} class="category-item" data-category-id={String(category.id)}>
            {editing?.id === category.id && editing.form === "name" ? (
              <RenameForm category={category} onSave={(name) => void rename(category, name)} onCancel={() => close(renameButtonId(category))} />
            ) : editing?.id === category.id && editing.form === "rules" ? (
              <PolicyForm category={category} onSave={(policy) => void saveRules(category, policy)} onCancel={() => close(rulesButtonId(category))} />
            ) : (
              <>
                <div class="category-text">
                  <span class="category-name">{category.name}</span>
                  <span class="category-policy" id={`category-${category.id}-policy`}>
                    {policyText(category)}
                  </span>
                </div>
                <div class="buttons">
                  <button type="button" class="secondary" id={renameButtonId(category)} aria-label={`Rename ${category.name}`} onClick={() => open(category, "name")}>
                    Rename
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    id={rulesButtonId(category)}
                    aria-label={`Booking rules of ${category.name}`}
                    aria-describedby={`category-${category.id}-policy`}
                    onClick={() => open(category, "rules")}
                  >
                    Booking rules
                  </button>
                  <button type="button" class="danger" aria-label={`Remove ${category.name}`} onClick={() => void remove(category)}>
                    Remove
                  </button>
                </div>
              </>
            )}
            {errors[category.id] && (
              <p class="error" role="alert">
                {errors[category.id]}
              </p>
            )}
          </li>
        ))}
      </ul>
      <form class="inline category-new" onSubmit={add}>
        <label for="new-category-name">New category</label>
        <input id="new-category-name" name="name" type="text" required maxlength={200} />
        <button type="submit" class="secondary">
          Add category
        </button>
      </form>
      {errors.new && (
        <p class="error" role="alert">
          {errors.new}
        </p>
      )}
    </section>
  );
}

type RenameProps = { category: Category; onSave(name: string): void; onCancel(): void };

function RenameForm({ category, onSave, onCancel }: RenameProps) {
  const inputId = `category-${category.id}-name`;
  // The form replaces the Rename button that had the focus: its field takes it.
  const input = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const submit = (event: Event) => {
    event.preventDefault();
    onSave(String(new FormData(event.currentTarget as HTMLFormElement).get("name") ?? ""));
  };
  return (
    <form class="inline" onSubmit={submit} aria-label={`Rename ${category.name}`}>
      <label for={inputId}>New name for {category.name}</label>
      <input
        id={inputId}
        ref={input}
        name="name"
        type="text"
        required
        maxlength={200}
        value={category.name}
        onKeyDown={(event: KeyboardEvent) => event.key === "Escape" && onCancel()}
      />
      <button type="submit">
        Save name
      </button>
      <button type="button" class="secondary" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
