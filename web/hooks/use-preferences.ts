// The categories there are, and the ones the person chose to see (saved in their preferences).
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { api, asCaller, errorText, ok, type Category } from "../api";
import type { SessionControls } from "./use-session";

export type Preferences = {
  /** The current categories, to choose from. */
  categories: Category[];
  /** Every category's name, removed ones included: past slots still name those (shown as archived). */
  names: Map<number, string>;
  chosen: number[];
  /** False until the saved choice is read, so that a click is never overwritten by it. */
  loaded: boolean;
  choose(ids: number[]): void;
  /** Loads the categories again (after an admin changed them); a removed one leaves the choice, as it left the saved preferences. */
  reloadCategories(): Promise<void>;
  error: string;
};

export function usePreferences(asUser: SessionControls["asUser"], onStatus: (text: string) => void): Preferences {
  const [everyCategory, setEveryCategory] = useState<Category[]>([]);
  const [chosen, setChosen] = useState<number[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState("");

  // Once the person has chosen, a saved choice that arrives later never overwrites theirs.
  const touched = useRef(false);
  const loadCategories = () =>
    ok(api.categories.$get({ query: { include_archived: "true" } })).then(
      (every) => {
        const current = every.filter((category) => !category.archived_at);
        setError("");
        setEveryCategory(every);
        setChosen((ids) => ids.filter((id) => current.some((category) => category.id === id)));
      },
      () => setError("Could not load the categories"),
    );
  useEffect(() => {
    void loadCategories();
    void asUser((token) => ok(api.user.preferences.$get({}, asCaller(token))))
      .then((preferences) => touched.current || setChosen(preferences.preferred_categories), () => undefined)
      .finally(() => setLoaded(true));
  }, []);

  // Saves one after another, so that quick clicks end with the last choice saved.
  const saving = useRef<Promise<void>>(Promise.resolve());
  function choose(ids: number[]): void {
    touched.current = true;
    setChosen(ids);
    saving.current = saving.current.then(async () => {
      try {
        await asUser((token) => ok(api.user.preferences.$post({ json: { preferred_categories: ids } }, asCaller(token))));
        onStatus(ids.length === 0 ? "Categories saved: every category" : `Categories saved: ${ids.length} chosen`);
      } catch (failure) {
        onStatus(`Categories not saved: ${errorText(failure)}`);
      }
    });
  }

  const categories = everyCategory.filter((category) => !category.archived_at);
  const names = new Map(everyCategory.map((category) => [category.id, category.archived_at ? `${category.name} (archived)` : category.name]));
  return { categories, names, chosen, loaded, choose, reloadCategories: loadCategories, error };
}
