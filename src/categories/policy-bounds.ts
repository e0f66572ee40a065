// The bounds of a category's four booking rules (issue 21), the same as migration 0014's CHECKs.
// The API's schema (policy.ts) and the page's form (web/category-policy.tsx) both read them here,
// so the form cannot offer a number the API refuses. Nothing is imported: the page bundles this file.
export const POLICY_BOUNDS = {
  booking_opens_hours_before: { min: 1, max: 8784 },
  booking_closes_minutes_before: { min: 0, max: 527040 },
  cancel_until_minutes_before: { min: 0, max: 527040 },
  max_active_per_user: { min: 1, max: 1000 },
} as const;

export type PolicyRule = keyof typeof POLICY_BOUNDS;
