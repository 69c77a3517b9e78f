// Parsing of the API's wall-clock parameters: ISO 8601 or epoch milliseconds.

const MAX_DATE_MS = 8.64e15;

/** Epoch ms from `2024-05-01T12:00:00Z` or `1714564800000`; null when it is neither. */
export function parseWallClock(value: string): number | null {
  const v = value.trim();
  // Epoch ms beyond what a Date can hold (year 275760) are no time at all, and would not even be
  // exact integers.
  if (/^\d{1,16}$/.test(v)) return Number(v) <= MAX_DATE_MS ? Number(v) : null;
  // Date.parse accepts a lot; require something that starts like an ISO date.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) return null;
  const ms = Date.parse(v.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : null;
}

/** dmesg's prefix: `[   12.345678] `. */
export function dmesgPrefix(tsUsec: number | null): string {
  if (tsUsec === null) return '';
  const seconds = Math.floor(tsUsec / 1_000_000);
  const micros = tsUsec % 1_000_000;
  return `[${String(seconds).padStart(5, ' ')}.${String(micros).padStart(6, '0')}] `;
}
