// How a kernel record is shown: level names and colours, dmesg timestamps, one line element.
import { h } from './dom.js';
import type { Message } from './api.js';

export const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'] as const;

export function levelName(level: number | null): string {
  return level === null ? '—' : (LEVELS[level] ?? String(level));
}

/** `[   12.345678]`, like dmesg. */
export function kernelTime(tsUsec: number | null): string {
  if (tsUsec === null) return '';
  const s = Math.floor(tsUsec / 1e6);
  return `[${String(s).padStart(5, ' ')}.${String(tsUsec % 1e6).padStart(6, '0')}]`;
}

export function wallTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function relativeTime(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** The plain-text form of a line, for downloads. */
export function lineText(m: Message): string {
  const ts = kernelTime(m.ts_usec);
  return `${new Date(m.received_at).toISOString()} ${m.host} boot${m.boot} ${levelName(m.level).padEnd(6)} ${ts ? ts + ' ' : ''}${m.text}`;
}

/** Marks shown in front of the text: reboot, continuation (`c`), reassembled fragments, truncated, incomplete fragments. */
function badges(m: Message, reboot: boolean): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (reboot) out.push(h('span', { class: 'mark mark-reboot', title: `${m.host} rebooted: boot ${m.boot} starts here` }, `↻ boot ${m.boot}`));
  if (m.flags?.includes('c')) out.push(h('span', { class: 'mark mark-c', title: 'continuation record (flag c)' }, 'c'));
  if (m.fragmented === true && m.complete) out.push(h('span', { class: 'mark mark-frag', title: 'sent in several ncfrag pieces, put back together' }, 'fragments'));
  if (m.truncated === true) out.push(h('span', { class: 'mark mark-trunc', title: 'the kernel truncated this record' }, 'truncated'));
  if (!m.complete) out.push(h('span', { class: 'mark mark-partial', title: 'incomplete record: fragments missing' }, 'fragments missing'));
  return out;
}

/**
 * One log line: wall time, host, boot, level, kernel time, marks, text. `body` lets a filter put
 * highlighted text in place of the plain text; `reboot` marks the first line of a new boot.
 */
export function lineElement(m: Message, body?: Node, reboot = false): HTMLElement {
  const level = m.level === null ? 'x' : String(m.level);
  return h(
    'div',
    { class: `line lvl-${level}${m.complete ? '' : ' partial'}${reboot ? ' reboot' : ''}`, 'data-id': String(m.id) },
    h('span', { class: 'c-time', title: new Date(m.received_at).toISOString() }, wallTime(m.received_at)),
    h('span', { class: 'c-host', title: m.source }, m.host),
    h('span', { class: 'c-boot', title: `boot ${m.boot}` }, `#${m.boot}`),
    h('span', { class: 'c-level' }, levelName(m.level)),
    // Right-aligned without dmesg's padding: the column lines the numbers up.
    h('span', { class: 'c-ts', title: 'kernel time (seconds since boot)' }, kernelTime(m.ts_usec).replace(/\[\s+/, '[')),
    h('span', { class: 'c-text' }, ...badges(m, reboot), body ?? m.text),
  );
}
