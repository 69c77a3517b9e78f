// Parsing of the API's wall-clock parameters: ISO 8601 or epoch milliseconds.

/** Epoch ms from `2024-05-01T12:00:00Z` or `1714564800000`; null when it is neither. */
export function parseWallClock(value: string): number | null {
  const v = value.trim();
  if (/^\d{1,16}$/.test(v)) return Number(v);
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
