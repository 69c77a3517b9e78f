// The one filter of the live tail and of search: hosts, level at or above, facility, and text as a
// substring or a `/regex/flags`. It lives in the address (`#live?hosts=a,b&level=3&text=/oops/i`)
// so a link reproduces the view; the API and the live stream apply it (regex: ../text-filter.ts).
import { compileRegex, isRegexFilter } from '../text-filter.js';

export interface ViewFilter {
  hosts: string[];
  /** At most this severity (0 = emerg); null: every level. */
  level: number | null;
  facility: number | null;
  /** A case-insensitive substring, or `/…/flags`. */
  text: string;
}

export const EMPTY_FILTER: ViewFilter = { hosts: [], level: null, facility: null, text: '' };

function intOrNull(v: string | null, max: number): number | null {
  if (v === null || !/^\d+$/.test(v)) return null;
  const n = Number(v);
  return n <= max ? n : null;
}

export function filterFromParams(p: URLSearchParams): ViewFilter {
  return {
    hosts: (p.get('hosts') ?? '').split(',').map((x) => x.trim()).filter((x) => x !== ''),
    level: intOrNull(p.get('level'), 7),
    facility: intOrNull(p.get('facility'), 127),
    text: p.get('text') ?? '',
  };
}

/** Sets the filter's keys on p (and removes the empty ones). */
export function filterToParams(f: ViewFilter, p: URLSearchParams): URLSearchParams {
  const set = (k: string, v: string): void => (v === '' ? p.delete(k) : p.set(k, v));
  set('hosts', f.hosts.join(','));
  set('level', f.level === null ? '' : String(f.level));
  set('facility', f.facility === null ? '' : String(f.facility));
  set('text', f.text);
  return p;
}

/** The error of a regex the user is typing, or null when the text is usable. */
export function filterError(f: ViewFilter): string | null {
  if (!isRegexFilter(f.text)) return null;
  const re = compileRegex(f.text);
  return 'error' in re ? re.error : null;
}

/** Query parameters of /api/messages and /api/histogram for this filter. */
export function apiParams(f: ViewFilter): Record<string, string | undefined> {
  const regex = isRegexFilter(f.text);
  return {
    hosts: f.hosts.length ? f.hosts.join(',') : undefined,
    level: f.level === null ? undefined : String(f.level),
    facility: f.facility === null ? undefined : String(f.facility),
    text: !regex && f.text !== '' ? f.text : undefined,
    regex: regex ? f.text : undefined,
  };
}

/** The live stream's `filters` for this filter (API.md, live stream). */
export function liveFilters(f: ViewFilter): Record<string, unknown> {
  const regex = isRegexFilter(f.text);
  const out: Record<string, unknown> = {};
  if (f.hosts.length) out.hosts = f.hosts;
  if (f.level !== null) out.level = f.level;
  if (f.facility !== null) out.facility = f.facility;
  if (f.text !== '') out[regex ? 'regex' : 'text'] = f.text;
  return out;
}

/** What to highlight in a line: the regex (made global), or the substring, case-insensitively. */
export function highlightRegex(f: ViewFilter): RegExp | null {
  if (f.text === '') return null;
  if (isRegexFilter(f.text)) {
    const re = compileRegex(f.text);
    if ('error' in re) return null;
    return new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  }
  return new RegExp(f.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
}

export function sameFilter(a: ViewFilter, b: ViewFilter): boolean {
  return a.hosts.join(',') === b.hosts.join(',') && a.level === b.level && a.facility === b.facility && a.text === b.text;
}
