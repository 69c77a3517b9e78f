// Dashboard entry: views behind the nav (hash routing), keyboard shortcuts, the status bar.
import { getJson } from './api.js';
import { byId, h } from './dom.js';
import { ContextDrawer } from './context-drawer.js';
import { HostsView } from './hosts-view.js';
import { mountIncidents } from './incidents.js';
import { LiveView } from './live-view.js';
import { ensureSession } from './login.js';
import { SearchView } from './search-view.js';

/** Views beyond the built-in ones, e.g. the incidents view: { id, label, mount(container) }. */
interface ExtraView {
  id: string;
  label: string;
  mount(container: HTMLElement): void;
}
const extraViews: ExtraView[] = [{ id: 'incidents', label: 'Incidents', mount: mountIncidents }];

// With --auth-token, nothing loads (no API call, no WebSocket) before the login form succeeded.
await ensureSession();

const status = byId('status');
const drawer = new ContextDrawer();
const live = new LiveView((s) => {
  status.dataset.state = s;
  byId('status-text').textContent = s;
});
const search = new SearchView(drawer);
const hosts = new HostsView({
  tail: (host) => {
    live.tailHost(host);
    location.hash = '#live';
  },
  search: (host) => {
    search.setHost(host);
    location.hash = '#search';
    void search.run({});
  },
});

const nav = byId('nav');
const main = byId('main');
for (const v of extraViews) {
  const section = h('section', { id: `view-${v.id}`, class: 'view', hidden: true });
  main.append(section);
  nav.append(h('a', { href: `#${v.id}`, 'data-view': v.id }, v.label));
  v.mount(section);
}

function currentView(): string {
  // A view may have sub-pages: #incidents/12 is the incidents view.
  const id = location.hash.replace(/^#/, '').split('/')[0] || 'live';
  return document.getElementById(`view-${id}`) ? id : 'live';
}

function route(): void {
  const id = currentView();
  for (const el of document.querySelectorAll<HTMLElement>('.view')) el.hidden = el.id !== `view-${id}`;
  for (const a of nav.querySelectorAll<HTMLAnchorElement>('a')) a.classList.toggle('active', a.dataset.view === id);
  if (id === 'hosts') void hosts.refresh();
}
window.addEventListener('hashchange', route);
route();

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName));
}

const help = byId('help');
byId('help-close').addEventListener('click', () => (help.hidden = true));

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') {
    if (drawer.isOpen) drawer.close();
    help.hidden = true;
    (document.activeElement as HTMLElement | null)?.blur();
    return;
  }
  if (typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const view = currentView();
  if (ev.key === ' ' && view === 'live') {
    ev.preventDefault();
    live.togglePause();
  } else if (ev.key === '/') {
    ev.preventDefault();
    if (view === 'search') search.focus();
    else if (view === 'live') live.focusFilter();
    else {
      location.hash = '#search';
      search.focus();
    }
  } else if (ev.key === 'f' && view === 'live') live.toggleFollow();
  else if (ev.key === '1') location.hash = '#live';
  else if (ev.key === '2') location.hash = '#search';
  else if (ev.key === '3') location.hash = '#hosts';
  else if (ev.key === '4' && extraViews.length > 0) location.hash = `#${extraViews[0]!.id}`;
  else if (ev.key === '?') help.hidden = !help.hidden;
});

interface Stats {
  messages: number;
  hosts: number;
  datagrams: number;
  bad_packets: number;
  checksum_errors: number;
  dropped: Record<string, number>;
  /** Received, not yet stored (queue + disk spool); the spool's own count. */
  lag_records?: number;
  spool?: { records: number };
}

const summary = byId('summary');
async function refreshStatus(): Promise<void> {
  try {
    const s = await getJson<Stats>('/api/stats');
    const dropped = Object.values(s.dropped ?? {}).reduce((a, b) => a + b, 0);
    summary.textContent = `${s.messages.toLocaleString()} records · ${s.hosts} hosts · ${s.datagrams.toLocaleString()} datagrams` +
      (s.bad_packets ? ` · ${s.bad_packets} bad` : '') + (s.checksum_errors ? ` · ${s.checksum_errors} checksum errors` : '') +
      (dropped ? ` · ${dropped} dropped` : '');
    // While the disk spool holds records, storage (and so search, live and incidents) lags by this much.
    if (s.spool?.records) summary.textContent += ` · catching up: ${(s.lag_records ?? s.spool.records).toLocaleString()} records behind`;
    const list = await hosts.refresh();
    const names = list.map((x) => x.host);
    live.setHosts(names);
    const sel = byId<HTMLSelectElement>('search-host');
    for (const n of names) if (![...sel.options].some((o) => o.value === n)) sel.append(h('option', { value: n }, n));
  } catch {
    summary.textContent = 'collector unreachable';
  }
}
void refreshStatus();
setInterval(() => void refreshStatus(), 5000);
