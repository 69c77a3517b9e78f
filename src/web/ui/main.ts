// Dashboard entry: views behind the nav (hash routing: `#view?filter…`, `#record/ID`), keyboard
// shortcuts, the status bar, the empty state.
import { getJson } from './api.js';
import { byId, h } from './dom.js';
import { ContextDrawer } from './context-drawer.js';
import { EmptyState } from './empty-state.js';
import { EMPTY_FILTER, filterToParams, type ViewFilter } from './filter.js';
import { HostsView } from './hosts-view.js';
import { mountIncidents } from './incidents.js';
import { LiveView } from './live-view.js';
import { ensureSession } from './login.js';
import { SearchView } from './search-view.js';
import { installThemeButton } from './theme.js';

/** Views beyond the built-in ones, e.g. the incidents view: { id, label, mount(container) }. */
interface ExtraView {
  id: string;
  label: string;
  mount(container: HTMLElement): void;
}
const extraViews: ExtraView[] = [{ id: 'incidents', label: 'Incidents', mount: mountIncidents }];

installThemeButton();

// With --auth-token, nothing loads (no API call, no WebSocket) before the login form succeeded.
await ensureSession();

/** `#search?q=x` → view `search`, sub `''`, params; `#record/12` → view `record`, sub `12`. */
function parseHash(): { view: string; sub: string; params: URLSearchParams } {
  const raw = location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const [view = '', sub = ''] = path.split('/');
  return { view, sub, params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** The filter shared by live and search, and search's own parameters, for the nav links. */
let shared: ViewFilter = EMPTY_FILTER;
let split = '';
let searchParams = new URLSearchParams();

function liveHash(): string {
  const p = filterToParams(shared, new URLSearchParams());
  if (split) p.set('split', split);
  return `#live${p.size ? `?${p}` : ''}`;
}

function searchHash(): string {
  const p = filterToParams(shared, new URLSearchParams(searchParams));
  return `#search${p.size ? `?${p}` : ''}`;
}

const status = byId('status');
const drawer = new ContextDrawer();
const live = new LiveView(
  (s) => {
    status.dataset.state = s;
    byId('status-text').textContent = s;
  },
  (id) => void drawer.open(id),
  (f, splitHost) => {
    shared = f;
    split = splitHost;
    if (parseHash().view === 'live' || location.hash === '') {
      history.replaceState(null, '', liveHash());
      drawer.returnTo = liveHash();
    }
    updateNav();
  },
  async () => (await hosts.refresh()).map((x) => x.host),
);
const search = new SearchView(drawer, (p) => {
  location.hash = `#search?${p}`;
});
const hosts = new HostsView({
  tail: (host) => {
    shared = { ...shared, hosts: [host] };
    location.hash = liveHash();
  },
  search: (host) => {
    shared = { ...shared, hosts: [host] };
    location.hash = searchHash();
  },
  open: (id) => void drawer.open(id),
});
const empty = new EmptyState();

const nav = byId('nav');
const main = byId('main');
for (const v of extraViews) {
  const section = h('section', { id: `view-${v.id}`, class: 'view', hidden: true });
  main.append(section);
  nav.append(h('a', { href: `#${v.id}`, 'data-view': v.id }, v.label));
  v.mount(section);
}

function updateNav(): void {
  nav.querySelector<HTMLAnchorElement>('a[data-view="live"]')!.href = liveHash();
  nav.querySelector<HTMLAnchorElement>('a[data-view="search"]')!.href = searchHash();
}

let shownView = 'live';
function currentView(): string {
  return shownView;
}

function route(): void {
  const { view, sub, params } = parseHash();
  if (view === 'record' && /^\d+$/.test(sub)) {
    // A link to one record: its context over whatever view is showing (live on a fresh load).
    void drawer.open(Number(sub));
    if (!live.started) live.applyParams(new URLSearchParams());
    return;
  }
  const id = document.getElementById(`view-${view}`) ? view : 'live';
  // Going to a view (a link, the nav, back) leaves the record that was open.
  if (drawer.isOpen) drawer.close();
  drawer.returnTo = location.hash || '#live';
  shownView = id;
  for (const el of document.querySelectorAll<HTMLElement>('.view')) el.hidden = el.id !== `view-${id}`;
  for (const a of nav.querySelectorAll<HTMLAnchorElement>('a')) a.classList.toggle('active', a.dataset.view === id);
  if (id === 'live') live.applyParams(params);
  else if (!live.started) live.applyParams(filterToParams(shared, new URLSearchParams()));
  if (id === 'search') {
    searchParams = new URLSearchParams(params);
    for (const k of ['hosts', 'level', 'facility', 'text']) searchParams.delete(k);
    search.applyParams(params);
    shared = search.filter;
    updateNav();
  }
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

/** The scrolling element of the view in front (the context panel when it is open). */
function scroller(): HTMLElement | null {
  if (drawer.isOpen) return byId('context-body');
  if (currentView() === 'search') return byId('search-results');
  return null;
}

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') {
    if (drawer.isOpen) drawer.close();
    help.hidden = true;
    (document.activeElement as HTMLElement | null)?.blur();
    return;
  }
  if (typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const view = currentView();
  if (ev.key === ' ' && view === 'live' && !drawer.isOpen) {
    ev.preventDefault();
    live.togglePause();
  } else if (ev.key === '/') {
    ev.preventDefault();
    if (drawer.isOpen) drawer.close();
    if (view === 'search') search.focus();
    else if (view === 'live') live.focusFilter();
    else {
      location.hash = searchHash();
      search.focus();
    }
  } else if (ev.key === 'g' || ev.key === 'G' || ev.key === 'Home' || ev.key === 'End') {
    const toTop = ev.key === 'g' || ev.key === 'Home';
    const el = scroller();
    if (el) el.scrollTop = toTop ? 0 : el.scrollHeight;
    else if (view === 'live') {
      if (toTop) live.top();
      else live.bottom();
    } else return;
    ev.preventDefault();
  } else if (ev.key === 'f' && view === 'live') live.toggleFollow();
  else if (ev.key === '1') location.hash = liveHash();
  else if (ev.key === '2') location.hash = searchHash();
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
    void empty.update(s.messages);
    const dropped = Object.values(s.dropped ?? {}).reduce((a, b) => a + b, 0);
    summary.textContent = `${s.messages.toLocaleString()} records · ${s.hosts} hosts · ${s.datagrams.toLocaleString()} datagrams` +
      (s.bad_packets ? ` · ${s.bad_packets} bad` : '') + (s.checksum_errors ? ` · ${s.checksum_errors} checksum errors` : '') +
      (dropped ? ` · ${dropped} dropped` : '');
    // While the disk spool holds records, storage (and so search, live and incidents) lags by this much.
    if (s.spool?.records) summary.textContent += ` · catching up: ${(s.lag_records ?? s.spool.records).toLocaleString()} records behind`;
  } catch {
    summary.textContent = 'collector unreachable';
  }
}

async function refreshHosts(): Promise<void> {
  const list = await hosts.refresh();
  // The filter's suggestions after the host list is painted (a thousand options take a while).
  requestAnimationFrame(() => setTimeout(() => live.setHosts(list.map((x) => x.host)), 0));
}

void refreshStatus();
setInterval(() => void refreshStatus(), 5000);
// /api/hosts counts every boot's records (about a second with 10 million): every 5 s while the
// hosts view shows, otherwise once a minute for the filter's suggestions, the first time after the
// first view has had its data.
const HOSTS_EVERY = 12;
let ticks = 0;
setTimeout(() => void refreshHosts(), 1500);
setInterval(() => {
  if (currentView() === 'hosts' || ++ticks % HOSTS_EVERY === 0) void refreshHosts();
}, 5000);
