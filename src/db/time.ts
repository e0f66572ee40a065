// The one shape every instant has in D1 and in responses: UTC, whole seconds, `Z`
// ('YYYY-MM-DDTHH:MM:SSZ'), so that comparing instants as text orders them in time.

export function toUtcIso(date: Date): string {
  return date.toISOString().slice(0, 19) + "Z";
}

export function nowUtcIso(): string {
  return toUtcIso(new Date());
}
