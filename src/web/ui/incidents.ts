// The incidents view: a list (newest first: when, kind, host, headline, how often this crash was
// seen) and one incident's full report laid out like a console. Everything from the network goes
// in as text (dom.ts h() / textContent); styles are set through the CSSOM (allowed by the CSP).
// `#incidents/ID` opens an incident directly.
import { getJson } from './api.js';
import { clear, h } from './dom.js';
import { relativeTime } from './format.js';

export interface IncidentSummary {
  id: number;
  host: string;
  address: string;
  boot: number | null;
  kind: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  headline: string;
  started_at: number;
  ended_at: number | null;
  ended_by: string | null;
  release: string | null;
  signature: string;
  seen: number;
  silent_after: boolean | null;
  next_boot: number | null;
}

export interface IncidentDetail extends IncidentSummary {
  ts_usec: number | null;
  lines: string[];
  modules: string[];
  context_before: string[];
  signature_frames: string[];
  first_message_id: number | null;
  last_message_id: number | null;
}

const KINDS = ['panic', 'oops', 'bug', 'warning', 'gpf', 'page-fault', 'soft-lockup', 'hard-lockup', 'hung-task', 'rcu-stall', 'oom',
  'kasan', 'ubsan', 'mce', 'nmi-backtrace', 'call-trace'];
const SEVERITY_BADGE: Record<string, string> = { critical: 'err', error: 'err', warning: 'warn', info: 'info' };
const REFRESH_MS = 10_000;
const DETAIL_HASH = /^#incidents\/(\d+)$/;

const CONSOLE_STYLE: Partial<CSSStyleDeclaration> = {
  background: '#0b0d12', color: '#d7dce5', fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
  fontSize: '12.5px', lineHeight: '1.45', padding: '10px 14px', borderRadius: '8px', overflow: 'auto', flex: '1', minHeight: '0',
  border: '1px solid #2a303c',
};

function styled<T extends HTMLElement>(el: T, style: Partial<CSSStyleDeclaration>): T {
  Object.assign(el.style, style);
  return el;
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function aftermath(i: IncidentSummary): string {
  const parts: string[] = [];
  if (i.ended_by === null) parts.push('in progress');
  if (i.silent_after) parts.push('host went silent');
  if (i.next_boot !== null) parts.push(`rebooted → boot ${i.next_boot}`);
  return parts.join(', ');
}

function kindBadge(i: IncidentSummary): HTMLElement {
  return h('span', { class: `badge ${SEVERITY_BADGE[i.severity] ?? 'info'}`, title: i.severity }, i.kind);
}

/** One console line: plain text, pre-formatted, never markup. */
function consoleLine(text: string, style: Partial<CSSStyleDeclaration> = {}): HTMLElement {
  return styled(h('div', { class: 'inc-line' }, text === '' ? ' ' : text), { whiteSpace: 'pre-wrap', wordBreak: 'break-word', ...style });
}

export function mountIncidents(container: HTMLElement): void {
  const kind = h('select', { name: 'kind', 'aria-label': 'kind' }, h('option', { value: '' }, 'all'), ...KINDS.map((k) => h('option', { value: k }, k)));
  const host = h('input', { name: 'host', type: 'search', placeholder: 'host', spellcheck: 'false', class: 'narrow' });
  styled(host, { width: '160px' });
  const signatureNote = h('span', { class: 'muted' });
  const clearSignature = h('button', { type: 'button', class: 'small', hidden: true }, 'All signatures');
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const info = h('span', { class: 'muted', 'data-role': 'incidents-info' });
  const toolbar = h('div', { class: 'toolbar' }, h('label', {}, 'Kind ', kind), h('label', {}, 'Host ', host), refresh, signatureNote, clearSignature, info);
  const tbody = h('tbody');
  const table = h('table', { class: 'hosts incidents' },
    h('thead', {}, h('tr', {}, ...['When', 'Kind', 'Host', 'Headline', 'Seen', 'After'].map((t) => h('th', {}, t)))), tbody);
  const listView = h('div', { class: 'incidents-list' }, toolbar, table);
  styled(listView, { display: 'flex', flexDirection: 'column', gap: '10px', minHeight: '0', overflow: 'auto' });
  const detailView = h('div', { class: 'incident-page', hidden: true });
  styled(detailView, { display: 'flex', flexDirection: 'column', gap: '8px', minHeight: '0', flex: '1' });
  container.append(listView, detailView);

  let signature: string | null = null;

  const visible = (): boolean => !container.hidden && container.offsetParent !== null;

  async function loadList(): Promise<void> {
    try {
      const { incidents } = await getJson<{ incidents: IncidentSummary[] }>('/api/incidents', {
        kind: kind.value || undefined, host: host.value.trim() || undefined, signature: signature ?? undefined, limit: 200,
      });
      renderList(incidents);
      info.textContent = incidents.length === 0 ? 'No incidents: no host has crashed, oopsed or warned.' : `${incidents.length} incidents`;
    } catch (err) {
      info.textContent = `could not load incidents: ${(err as Error).message}`;
    }
  }

  function renderList(incidents: IncidentSummary[]): void {
    clear(tbody);
    const now = Date.now();
    for (const i of incidents) {
      const seen = h('button', { type: 'button', class: 'small', title: `signature ${i.signature}: show every occurrence` }, `×${i.seen}`);
      seen.addEventListener('click', (e) => {
        e.stopPropagation();
        signature = i.signature;
        void loadList();
        syncSignature();
      });
      const row = h('tr', { 'data-id': String(i.id), tabindex: '0' },
        h('td', { title: isoTime(i.started_at) }, relativeTime(i.started_at, now)),
        h('td', {}, kindBadge(i)),
        h('td', { title: i.address }, i.host),
        h('td', {}, styled(h('span', {}, i.headline), { fontFamily: 'var(--mono)', fontSize: '12.5px' })),
        h('td', { class: 'num' }, seen),
        h('td', { class: i.silent_after || i.next_boot !== null ? 'bad' : '' }, aftermath(i)));
      styled(row, { cursor: 'pointer' });
      // through the address, so the browser's back button returns to the list
      const open = (): void => { location.hash = `#incidents/${i.id}`; };
      row.addEventListener('click', open);
      row.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
      tbody.append(row);
    }
  }

  function syncSignature(): void {
    signatureNote.textContent = signature ? `signature ${signature}` : '';
    clearSignature.hidden = signature === null;
  }

  async function showIncident(id: number): Promise<void> {
    listView.hidden = true;
    detailView.hidden = false;
    clear(detailView);
    detailView.append(h('p', { class: 'muted' }, `loading incident ${id}…`));
    try {
      const { incident } = await getJson<{ incident: IncidentDetail }>(`/api/incidents/${id}`);
      renderDetail(incident);
    } catch (err) {
      clear(detailView);
      detailView.append(backButton(), h('p', { class: 'error' }, `could not load incident ${id}: ${(err as Error).message}`));
    }
  }

  function backButton(): HTMLElement {
    const back = h('button', { type: 'button' }, '← All incidents');
    back.addEventListener('click', () => {
      if (DETAIL_HASH.test(location.hash)) location.hash = '#incidents';
      else showList();
    });
    return back;
  }

  function showList(): void {
    detailView.hidden = true;
    listView.hidden = false;
    void loadList();
  }

  function renderDetail(i: IncidentDetail): void {
    clear(detailView);
    const facts: [string, string][] = [
      ['host', `${i.host}${i.address !== i.host ? ` (${i.address})` : ''}${i.boot !== null ? `, boot ${i.boot}` : ''}`],
      ['when', isoTime(i.started_at)],
      ['kernel', i.release ?? 'unknown'],
      ['ended by', i.ended_by ?? 'still open'],
      ['after', aftermath(i) || 'host kept sending'],
      ['signature', `${i.signature} (seen ${i.seen}×)${i.signature_frames.length ? ' ' + i.signature_frames.join(' ← ') : ''}`],
      ['modules', i.modules.length ? i.modules.join(' ') : '—'],
    ];
    const dl = h('dl', { class: 'incident-facts' });
    styled(dl, { display: 'grid', gridTemplateColumns: 'max-content 1fr', gap: '2px 14px', margin: '0' });
    for (const [k, v] of facts) dl.append(styled(h('dt', { class: 'muted' }, k), {}), styled(h('dd', {}, v), { margin: '0', wordBreak: 'break-word' }));
    const title = h('h2', {}, kindBadge(i), ' ', i.headline);
    styled(title, { margin: '0', fontSize: '16px', fontFamily: 'var(--mono)', wordBreak: 'break-word' });

    const screen = styled(h('div', { class: 'incident-console', role: 'log', 'aria-label': 'incident report' }), CONSOLE_STYLE);
    if (i.context_before.length > 0) {
      screen.append(consoleLine(`── ${i.context_before.length} lines before ──`, { color: '#6b7585' }));
      for (const l of i.context_before) screen.append(consoleLine(l, { color: '#8a93a3' }));
      screen.append(consoleLine('── report ──', { color: '#6b7585' }));
    }
    for (const l of i.lines) {
      const strong = l === i.headline || /^---\[ end /.test(l);
      screen.append(consoleLine(l, strong ? { color: '#ff6b6b', fontWeight: '700' } : {}));
    }
    if (i.silent_after) screen.append(consoleLine('── the host went silent ──', { color: '#fbbf24' }));
    if (i.next_boot !== null) screen.append(consoleLine(`── the host rebooted (boot ${i.next_boot}) ──`, { color: '#fbbf24' }));

    const copy = h('button', { type: 'button' }, 'Copy report');
    copy.addEventListener('click', () => {
      void navigator.clipboard?.writeText([...i.lines].join('\n')).then(() => { copy.textContent = 'Copied'; }, () => { copy.textContent = 'Copy failed'; });
    });
    // The report's first record among the lines around it in its boot (the context panel).
    const context = i.first_message_id === null ? null
      : h('a', { href: `#record/${i.first_message_id}`, class: 'button-link', title: 'the records around this report in its boot' }, 'Open in context');
    const bar = h('div', { class: 'toolbar' }, backButton(), copy, context);
    detailView.append(bar, title, dl, screen);
  }

  function onHash(): void {
    const m = DETAIL_HASH.exec(location.hash);
    if (m) void showIncident(Number(m[1]));
    else if (location.hash === '#incidents') showList();
  }

  kind.addEventListener('change', () => void loadList());
  host.addEventListener('change', () => void loadList());
  refresh.addEventListener('click', () => void loadList());
  clearSignature.addEventListener('click', () => { signature = null; syncSignature(); void loadList(); });
  window.addEventListener('hashchange', onHash);
  window.setInterval(() => { if (visible() && !listView.hidden) void loadList(); }, REFRESH_MS);
  // Loaded when shown, not at every page load: another view's first paint should not wait for it.
  onHash();
}
