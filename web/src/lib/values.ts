// Small coercions of untrusted JSON values (feed events, API rows) to numbers and strings.

/** A finite number, else the default. */
export const num = (v: unknown, d = 0): number => (typeof v === "number" && Number.isFinite(v) ? v : d);
/** A non-empty string, else null. */
export const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
/** A finite number, else null. */
export const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
