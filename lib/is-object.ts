/** A parsed JSON object: not null, not an array. The one shape guard the parsers share. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
