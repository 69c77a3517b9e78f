// The filters the read port takes and the live stream applies, and the user errors they raise.
// Pure: the same definitions for every store adapter and for rows matched in memory.
import { compileRegex } from './text-filter.js';
import type { StoredMessage } from './types.js';
import type { HostRef } from './port.js';

/** A filter of the live stream, also used to replay from the store. */
export interface LiveFilter {
  /** Hosts the `host` filter names (address or display name), as resolved; undefined = every host. */
  hosts?: HostRef[];
  level?: number;
  /** Case-insensitive (ASCII) substring of the text. */
  text?: string;
  facility?: number;
  /** The pattern as given (`/…/flags`) for the store's query, and compiled for published rows. */
  regex?: { pattern: string; re: RegExp };
}

/** A bad `regex` parameter or subscription: the user's mistake, answered with 400 or an error message. */
export class RegexFilterError extends Error {}

/** A malformed `q`: the user's mistake, answered with 400. */
export class FullTextQueryError extends Error {}

/** Compiles a regex filter or throws RegexFilterError with the engine's message. */
export function regexFilter(pattern: string): { pattern: string; re: RegExp } {
  const re = compileRegex(pattern);
  if ('error' in re) throw new RegexFilterError(`invalid regex ${JSON.stringify(pattern)}: ${re.error}`);
  return { pattern, re };
}

/** ASCII-only lower case, the same as SQLite's lower(), so live and replayed rows match alike. */
export function lowerAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** True when a row matches a live filter (the in-memory twin of each adapter's SQL). */
export function matchesLiveFilter(row: StoredMessage, filter: LiveFilter, hostNames?: Set<string>): boolean {
  if (hostNames !== undefined && !hostNames.has(row.host)) return false;
  if (filter.level !== undefined && (row.level === null || row.level > filter.level)) return false;
  if (filter.text !== undefined && filter.text !== '' && !lowerAscii(row.text).includes(lowerAscii(filter.text))) return false;
  if (filter.facility !== undefined && row.facility !== filter.facility) return false;
  if (filter.regex !== undefined && !filter.regex.re.test(row.text)) return false;
  return true;
}
