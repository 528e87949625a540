/** Parses JSON text the store wrote itself (metadata, evidence, details, containers). */
export function parseJson(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

/** A nullable count or size column: pg returns BIGINT as a string, SQLite as a number. */
export function numberOrNull(value: unknown): number | null {
  return value === null ? null : Number(value);
}
