import { z } from "@hono/zod-openapi";

// The one rule for free text that the API stores and shows to others (category names, and any
// such text to come): what a reader sees is what is stored, and two texts a reader cannot tell
// apart are the same text.

/** Characters that render as nothing: zero-width spaces and joiners, soft hyphen, fillers, variation selectors. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;
const AROUND = /^[\p{White_Space}\p{Default_Ignorable_Code_Point}]+|[\p{White_Space}\p{Default_Ignorable_Code_Point}]+$/gu;
/** Code points that must never be stored, with why; each regex finds one. */
const REFUSED: [RegExp, string][] = [
  [/\p{Cc}/u, "must not contain control characters (such as NUL, tab or newline)"],
  [/[\u202A-\u202E\u2066-\u2069]/u, "must not contain bidirectional overrides, embeddings or isolates"],
  [/\p{Cs}/u, "must not contain unpaired surrogates"],
  // Line breaks that are not controls: they end an ICS or JavaScript line all the same.
  [/[\u2028\u2029]/u, "must not contain line or paragraph separators (U+2028, U+2029)"],
  [/\uFEFF/u, "must not contain a byte order mark (U+FEFF)"],
];
/** A character that shows: not a space, control, format character or mark, nor invisible. */
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{M}]/u;

/** The length of `text` as JSON Schema counts it: in code points. */
export const codePoints = (text: string) => [...text].length;

/**
 * A request field of free text: refused (422) with a control character (even a trailing newline),
 * a line or paragraph separator, a byte order mark, a bidirectional override, embedding or
 * isolate, or an unpaired surrogate anywhere; normalized to NFC without the spaces and invisible
 * characters around it; then refused without any visible character, or with more than `maxLength`
 * code points. Zero-width joiners inside (emoji sequences) stay.
 */
export function visibleText(maxLength: number) {
  return z
    .string()
    .superRefine((text, ctx) => {
      // Anywhere in the text as given: a bidirectional override is refused, not trimmed away.
      const refusal = REFUSED.find(([pattern]) => pattern.test(text))?.[1];
      if (refusal) ctx.addIssue({ code: "custom", message: refusal });
    })
    .transform((text) => text.normalize("NFC").replace(AROUND, ""))
    .superRefine((text, ctx) => {
      if (!VISIBLE.test(text)) ctx.addIssue({ code: "custom", message: "must contain a visible character" });
      // Counted in code points, as JSON Schema's maxLength counts (not in UTF-16 units: an emoji is one).
      else if (codePoints(text) > maxLength) ctx.addIssue({ code: "custom", message: `must be at most ${maxLength} characters` });
    })
    .openapi({ type: "string", maxLength });
}

/**
 * What two texts are compared by for uniqueness: the normalized text without its invisible
 * characters, in lower case. So "Yoga", "YOGA" and "Yo\u200Bga" are one name.
 */
export function comparisonKey(text: string): string {
  return text.normalize("NFC").replace(INVISIBLE, "").toLowerCase();
}
