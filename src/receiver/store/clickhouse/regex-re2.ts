// The API's regex filter (a JavaScript regular expression, `/source/flags`, text-filter.ts) as an
// RE2 pattern for ClickHouse's match(). The pattern is first compiled by JavaScript (so it is valid
// there), then rewritten token by token; what RE2 cannot do (lookarounds, backreferences) is refused
// with RegexFilterError rather than answered differently. Flags: i, s, m become an inline group
// `(?ims:…)` (ClickHouse 18.16's RE2 ignores a bare `(?i)` prefix), u is RE2's default (UTF-8).
// Known, accepted differences: without `s`, JavaScript's `.` also stops at \r, U+2028 and U+2029,
// RE2's only at \n; `\s`, `\d`, `\w` and `\b` are ASCII in RE2.
import { compileRegex, splitRegex } from '../text-filter.js';
import { RegexFilterError } from '../filters.js';

/** RE2's largest counted repetition. */
const MAX_REPEAT = 1000;

function refuse(pattern: string, what: string): never {
  throw new RegexFilterError(`invalid regex ${JSON.stringify(pattern)}: ${what} is not supported on ClickHouse (RE2)`);
}

/** The RE2 pattern for a regex filter, or RegexFilterError. */
export function toRe2(pattern: string): string {
  const js = compileRegex(pattern);
  if ('error' in js) throw new RegexFilterError(`invalid regex ${JSON.stringify(pattern)}: ${js.error}`);
  const { source, flags } = splitRegex(pattern);
  let out = '';
  let inClass = false;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === '\\') {
      const d = source[i + 1];
      if (d === undefined) refuse(pattern, 'a trailing backslash');
      if (/[1-9]/.test(d)) {
        if (inClass) { out += `\\x{${parseInt(d, 8).toString(16)}}`; i += 2; continue; }
        refuse(pattern, 'a backreference');
      }
      if (d === 'k' && source[i + 2] === '<') refuse(pattern, 'a named backreference');
      if (d === 'u') {
        const braced = /^\{([0-9A-Fa-f]+)\}/.exec(source.slice(i + 2));
        if (braced) { out += `\\x{${braced[1]}}`; i += 2 + braced[0].length; continue; }
        const hex = /^[0-9A-Fa-f]{4}/.exec(source.slice(i + 2));
        if (hex) { out += `\\x{${hex[0]}}`; i += 6; continue; }
        out += 'u'; i += 2; continue; // /\u/ without u is the letter u
      }
      if (d === 'x') {
        const hex = /^[0-9A-Fa-f]{2}/.exec(source.slice(i + 2));
        if (hex) { out += `\\x${hex[0]}`; i += 4; continue; }
        out += 'x'; i += 2; continue;
      }
      if (d === 'c') {
        const letter = source[i + 2];
        if (letter !== undefined && /[A-Za-z]/.test(letter)) { out += `\\x{${(letter.charCodeAt(0) % 32).toString(16)}}`; i += 3; continue; }
        out += '\\\\c'; i += 2; continue;
      }
      if (d === '0') { out += '\\x00'; i += 2; continue; }
      if (d === 'b' && inClass) { out += '\\x08'; i += 2; continue; }
      if (d === 'p' || d === 'P') {
        const prop = /^\{([^}]*)\}/.exec(source.slice(i + 2));
        if (prop && prop[1]!.includes('=')) refuse(pattern, `the Unicode property ${JSON.stringify(prop[1])}`);
        if (prop) { out += `\\${d}{${prop[1]}}`; i += 2 + prop[0].length; continue; }
        out += d; i += 2; continue;
      }
      if (d === 'v') { out += '\\x0b'; i += 2; continue; }
      if (/[dDwWsSbBfnrt]/.test(d)) { out += `\\${d}`; i += 2; continue; }
      // Any other escaped character stands for itself.
      out += /[A-Za-z0-9]/.test(d) ? d : `\\${d}`;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
      i++;
      continue;
    }
    if (c === '[') {
      if (source.startsWith('[^]', i)) { out += '[\\s\\S]'; i += 3; continue; }
      if (source.startsWith('[]', i)) refuse(pattern, 'the empty class []');
      inClass = true;
      out += '[';
      i++;
      // A leading ] (after ^) is literal in RE2 but ends an empty class in JavaScript: handled above.
      if (source[i] === '^') { out += '^'; i++; }
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const rest = source.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!')) refuse(pattern, 'a lookahead');
      if (rest.startsWith('<=') || rest.startsWith('<!')) refuse(pattern, 'a lookbehind');
      const named = /^<([A-Za-z_$][A-Za-z0-9_$]*)>/.exec(rest);
      if (named) { out += `(?P<${named[1]}>`; i += 2 + named[0].length; continue; }
      if (rest.startsWith(':')) { out += '(?:'; i += 3; continue; }
      refuse(pattern, 'this group syntax');
    }
    if (c === '{') {
      const rep = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
      if (rep) {
        if (Number(rep[1]) > MAX_REPEAT || (rep[3] !== undefined && rep[3] !== '' && Number(rep[3]) > MAX_REPEAT)) {
          refuse(pattern, `a repetition over ${MAX_REPEAT}`);
        }
        out += rep[0];
        i += rep[0].length;
        continue;
      }
      out += '\\{'; // a literal brace in JavaScript (without u)
      i++;
      continue;
    }
    if (c === '}') { out += '\\}'; i++; continue; }
    out += c;
    i++;
  }
  const inline = [...new Set(flags.replace(/[^ism]/g, ''))].sort().join('');
  return inline === '' ? out : `(?${inline}:${out})`;
}
