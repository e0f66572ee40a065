// The scenarios that speak only the original's API (../shared/SEED_API.md): run on our server, and
// with --against on any server that speaks it (against.ts), from data seeded on each.
import { clientAddress, type Token } from "../api-client";
import type { Scenario, ScenarioName } from "./scenarios";

/** The seed API's scenarios: the list, a filtered list, login, booking a full slot, booking spread over slots. */
export const SEED_API_SCENARIOS = ["slots", "slots-filtered", "login", "book-full", "book-spread"] as const satisfies readonly ScenarioName[];

/** Every bench user's password, on either server. */
export const PASSWORD = "bench-password-1";

/** What these scenarios need of a seeded server, made through our API (scenarios.ts) or only the seed API's (against.ts). */
export type SeedApiData = {
  users: { email: string; token: Token }[];
  categoryIds: number[];
  /** A slot of capacity 1, already booked. */
  fullSlot: { id: number };
  /** Slots with room for every user. */
  spreadSlots: { id: number }[];
};

export const JSON_HEADERS = { "content-type": "application/json" };

/**
 * The seed API's scenarios over `seed`. `ownCodes`: the server is ours, whose 409 for a full slot
 * says `slot_full` (the original's error bodies carry no code).
 */
export function seedApiScenarios(seed: SeedApiData, { ownCodes }: { ownCodes: boolean }): Scenario[] {
  const { users } = seed;
  const bearer = (token: Token) => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });
  let fullTurn = 0;
  let loginTurn = 0;
  let notSlotFull = 0;
  const bookFull: Scenario = {
    name: "book-full",
    expected: [409],
    load: () => ({
      requests: [
        {
          method: "POST",
          path: "/bookings",
          body: JSON.stringify({ time_slot_id: seed.fullSlot.id }),
          // A different user each request, so that every answer is slot_full, not already_booked.
          setupRequest: (request) => ({ ...request, headers: bearer(users[fullTurn++ % users.length].token) }),
          onResponse: (status, body) => {
            if (ownCodes && status === 409 && !body.includes('"slot_full"')) notSlotFull++;
          },
        },
      ],
    }),
    note: () => (notSlotFull > 0 ? `book-full: ${notSlotFull} 409 answers (warm-up included) had another code than slot_full` : undefined),
  };

  // Pair n is (user ⌊n / slots⌋, slot n mod slots): consecutive requests hit different slots, and
  // no pair repeats before users × slots requests.
  let spreadTurn = 0;
  const spreadPairs = users.length * seed.spreadSlots.length;
  const bookSpread: Scenario = {
    name: "book-spread",
    expected: [201],
    load: () => ({
      requests: [
        {
          method: "POST",
          path: "/bookings",
          setupRequest: (request) => {
            const turn = spreadTurn++ % spreadPairs;
            const slot = seed.spreadSlots[turn % seed.spreadSlots.length];
            const user = users[Math.floor(turn / seed.spreadSlots.length)];
            return { ...request, headers: bearer(user.token), body: JSON.stringify({ time_slot_id: slot.id }) };
          },
        },
      ],
    }),
    note: () =>
      spreadTurn > spreadPairs ? `book-spread wrapped around its ${spreadPairs} (user, slot) pairs: repeats answer 409` : undefined,
  };

  const get = (name: ScenarioName, path: string): Scenario => ({ name, expected: [200], load: () => ({ requests: [{ method: "GET", path }] }) });
  return [
    get("slots", "/slots"),
    get("slots-filtered", `/slots?categories=${seed.categoryIds.slice(0, 2).join(",")}`),
    {
      name: "login",
      expected: [200],
      load: () => ({
        requests: [
          {
            method: "POST",
            path: "/login",
            // Each request a different user from a different address, as real logins are: one
            // address hammering one account is what the login throttle exists to refuse.
            setupRequest: (request) => {
              const turn = loginTurn++ % users.length;
              const body = JSON.stringify({ email: users[turn].email, password: PASSWORD });
              return { ...request, headers: { ...JSON_HEADERS, "cf-connecting-ip": clientAddress(turn) }, body };
            },
          },
        ],
      }),
    },
    bookFull,
    bookSpread,
  ];
}
