// Highlights the words of an FTS5 query inside a text, as text nodes and <mark> elements.
import { h } from './dom.js';

const OPERATORS = new Set(['AND', 'OR', 'NOT', 'NEAR']);

/** A case-insensitive regex for the query's terms (prefix terms `ext4*` match as prefixes), or null. */
export function termsRegex(query: string): RegExp | null {
  const terms: string[] = [];
  for (const raw of query.match(/"[^"]*"|[^\s()"]+/g) ?? []) {
    if (OPERATORS.has(raw)) continue;
    let t = raw.startsWith('"') ? raw.slice(1, -1) : raw.replace(/^[^:]*:/, '');
    t = t.replace(/^[\^+-]+/, '');
    const prefix = t.endsWith('*');
    t = t.replace(/\*+$/, '');
    if (t.trim() === '') continue;
    const escaped = t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\W+');
    terms.push(prefix ? `${escaped}[\\w]*` : escaped);
  }
  if (terms.length === 0) return null;
  terms.sort((a, b) => b.length - a.length);
  return new RegExp(`(${terms.join('|')})`, 'gi');
}

export function highlighted(text: string, re: RegExp | null): Node {
  const frag = document.createDocumentFragment();
  if (re === null) {
    frag.append(text);
    return frag;
  }
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m[0] === '') continue;
    const at = m.index ?? 0;
    if (at > last) frag.append(text.slice(last, at));
    frag.append(h('mark', {}, m[0]));
    last = at + m[0].length;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}
