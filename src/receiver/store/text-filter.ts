// The regular-expression filter shared by the API (a SQLite function, the live stream) and the
// dashboard, so a pattern selects the same records everywhere: `/source/flags` or a bare source.
// Pure (no Node imports): esbuild bundles it into the page as well (through web/text-filter.ts).

export const MAX_REGEX_LENGTH = 500;
const FLAGS = /^[imsu]*$/;

/** `/ext4-fs (error|warning)/i` → source and flags; a string without slashes is the source itself. */
export function splitRegex(pattern: string): { source: string; flags: string } {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (m && FLAGS.test(m[2]!)) return { source: m[1]!, flags: m[2]! };
  return { source: pattern, flags: '' };
}

/** The compiled pattern, or the engine's message (a syntax error is the user's, not a crash). */
export function compileRegex(pattern: string): RegExp | { error: string } {
  if (pattern.length > MAX_REGEX_LENGTH) return { error: `regex longer than ${MAX_REGEX_LENGTH} characters` };
  const { source, flags } = splitRegex(pattern);
  try {
    // No `g`: test() must not carry lastIndex from one record to the next.
    return new RegExp(source, flags);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** True when the text the user typed is a regex (`/…/` with optional flags) rather than a substring. */
export function isRegexFilter(text: string): boolean {
  return /^\/.+\/[imsu]*$/s.test(text);
}
