// JSON-schema pieces shared by the routes. Bounds are the storage's own: both backends must answer
// the same request the same way, so a value one of them cannot hold is a 400 for both.

/** A message id or sequence number: what a JavaScript number holds exactly. */
export const idParam = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** A boot number: 1, 2, … per host; stored as UInt32 in ClickHouse. */
export const bootParam = { type: 'integer', minimum: 1, maximum: 4294967295 } as const;
