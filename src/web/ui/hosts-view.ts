// Each host's status: last seen, reboots, lost records, checksum errors, bad packets, boot logs.
import { getJson, type HostSummary } from './api.js';
import { byId, clear, h } from './dom.js';
import { relativeTime } from './format.js';
import type { IncidentSummary } from './incidents.js';

const SILENT_AFTER_MS = 5 * 60_000;
/** A panic older than this, with the host rebooted since, is history rather than status. */
const PANIC_RECENT_MS = 24 * 3600_000;
/** The newest panics read (one request for every host): a host whose last panic is older than all of them shows none. */
const PANICS_READ = 1000;

export class HostsView {
  private readonly body = byId('hosts-body');
  private readonly info = byId('hosts-info');
  hosts: HostSummary[] = [];
  /** Last panic per host address, and the host's last_seen when it was looked up. */
  private readonly panics = new Map<string, { lastSeen: number; panic: IncidentSummary | null }>();

  /** Each host's record count at the previous refresh, for its rate. */
  private readonly previous = new Map<string, { at: number; messages: number; rate: number | null }>();

  constructor(private readonly actions: { tail(host: string): void; search(host: string): void; open(id: number): void }) {}

  /** Records per minute since the previous refresh (null until two refreshes). */
  private rate(host: HostSummary, now: number): number | null {
    const p = this.previous.get(host.address);
    if (p === undefined || now - p.at < 1000) {
      if (p === undefined) this.previous.set(host.address, { at: now, messages: host.messages, rate: null });
      return p?.rate ?? null;
    }
    const rate = ((host.messages - p.messages) * 60_000) / (now - p.at);
    this.previous.set(host.address, { at: now, messages: host.messages, rate });
    return rate;
  }

  /** Opens the first record of the host's current boot in its context. */
  private async jumpToBoot(host: HostSummary): Promise<void> {
    if (host.current_boot === null) return;
    // Reading forward from after=0 gives the boot's oldest record first.
    const page = await getJson<{ messages: { id: number }[] }>('/api/messages', { host: host.address, boot: host.current_boot, after: 0, limit: 1 });
    if (page.messages[0]) this.actions.open(page.messages[0].id);
  }

  private async jumpToIncident(host: HostSummary): Promise<void> {
    const { incidents } = await getJson<{ incidents: IncidentSummary[] }>('/api/incidents', { host: host.address, limit: 1 });
    if (incidents[0]) location.hash = `#incidents/${incidents[0].id}`;
    else this.info.textContent = `${host.host} has no incident.`;
  }

  /** One refresh at a time: the view, the filter's suggestions and the timer may all ask at once. */
  private inFlight: Promise<HostSummary[]> | null = null;
  /** Bumped by each render: a long list still being appended stops when a newer render starts. */
  private renderGeneration = 0;

  refresh(): Promise<HostSummary[]> {
    this.inFlight ??= this.load().finally(() => { this.inFlight = null; });
    return this.inFlight;
  }

  private async load(): Promise<HostSummary[]> {
    try {
      const { hosts } = await getJson<{ hosts: HostSummary[] }>('/api/hosts');
      this.hosts = hosts;
      if (!byId('view-hosts').hidden) await this.lookUpPanics();
      this.render();
      this.info.textContent = hosts.length === 0 ? 'No host has sent anything yet.' : '';
    } catch (err) {
      this.info.textContent = `could not load hosts: ${(err as Error).message}`;
    }
    return this.hosts;
  }

  /** Each host's newest panic, from one request for the newest panics of all hosts (not one per host). */
  private async lookUpPanics(): Promise<void> {
    try {
      const { incidents } = await getJson<{ incidents: IncidentSummary[] }>('/api/incidents', { kind: 'panic', limit: PANICS_READ });
      const newest = new Map<string, IncidentSummary>();
      for (const i of incidents) if (!newest.has(i.address)) newest.set(i.address, i);
      for (const x of this.hosts) this.panics.set(x.address, { lastSeen: x.last_seen, panic: newest.get(x.address) ?? null });
    } catch {
      // incidents not available (older database): no marker
    }
  }

  /** Its newest panic is in the boot it is in now: the host crashed and has not come back. */
  private crashedNow(host: HostSummary): boolean {
    const panic = this.panics.get(host.address)?.panic;
    return !!panic && panic.boot !== null && panic.boot === host.current_boot;
  }

  private panicBadge(host: HostSummary, now: number): HTMLElement | null {
    const panic = this.panics.get(host.address)?.panic;
    if (!panic) return null;
    const sameBoot = panic.boot !== null && panic.boot === host.current_boot;
    if (!sameBoot && now - panic.started_at > PANIC_RECENT_MS) return null;
    return h('a', {
      class: 'badge panicked', href: `#incidents/${panic.id}`,
      title: `${sameBoot ? 'panicked in this boot' : 'panicked'} ${relativeTime(panic.started_at, now)}: ${panic.headline}`,
    }, 'panicked');
  }

  /**
   * The rows a screen shows at once; the rest, built aside, in one append once that screen is
   * painted: a thousand hosts' rows (some thirty elements each) take the browser most of a second
   * to build and lay out, and each append lays the whole table out again.
   */
  private render(): void {
    clear(this.body);
    const now = Date.now();
    const generation = ++this.renderGeneration;
    const rows = this.hosts;
    const FIRST = 40;
    this.renderRows(this.body, rows.slice(0, FIRST), now);
    if (rows.length <= FIRST) return;
    // Two frames: the first screen is painted before the rest is built.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (generation !== this.renderGeneration) return;
      const rest = document.createDocumentFragment();
      this.renderRows(rest, rows.slice(FIRST), now);
      this.body.append(rest);
    }));
  }

  private renderRows(into: Node, rows: HostSummary[], now: number): void {
    for (const host of rows) {
      const silent = now - host.last_seen > SILENT_AFTER_MS;
      const crashed = this.crashedNow(host);
      const badges = h('span', { class: 'badges', 'data-role': 'host-status' },
        crashed ? h('a', { class: 'badge err panicked', href: `#incidents/${this.panics.get(host.address)!.panic!.id}`, title: `panicked in its current boot and has not rebooted: ${this.panics.get(host.address)!.panic!.headline}` }, 'crashed')
          : silent ? h('span', { class: 'badge warn', title: new Date(host.last_seen).toISOString() }, `quiet since ${relativeTime(host.last_seen, now).replace(/ ago$/, '')}`)
            : h('span', { class: 'badge ok' }, 'alive'),
        crashed ? null : this.panicBadge(host, now),
        host.rebooted && h('span', { class: 'badge info' }, 'rebooted'),
        host.lost_records > 0 && h('span', { class: 'badge err' }, 'lost records'),
        host.checksum_errors > 0 && h('span', { class: 'badge err' }, 'checksum errors'));
      const tail = h('button', { type: 'button', class: 'small' }, 'Tail');
      tail.addEventListener('click', () => this.actions.tail(host.host));
      const search = h('button', { type: 'button', class: 'small' }, 'Search');
      search.addEventListener('click', () => this.actions.search(host.host));
      const reboot = h('button', { type: 'button', class: 'small', title: 'the first lines of the current boot', disabled: host.current_boot === null }, 'Last boot');
      reboot.addEventListener('click', () => void this.jumpToBoot(host));
      const incident = h('button', { type: 'button', class: 'small', title: "the host's newest incident" }, 'Last incident');
      incident.addEventListener('click', () => void this.jumpToIncident(host));
      const rate = this.rate(host, now);
      const boots = h('span', { class: 'boot-links' },
        ...host.boots.slice(-5).map((b) =>
          h('a', { href: `/api/hosts/${encodeURIComponent(host.host)}/boots/${b.boot}/log`, download: true, title: `${b.messages} records${b.release ? `, ${b.release}` : ''}` }, `#${b.boot}`)));
      into.appendChild(h('tr', {},
        h('td', {}, h('strong', {}, host.host), host.name ? h('div', { class: 'muted' }, host.address) : null),
        h('td', {}, badges),
        h('td', { title: new Date(host.last_seen).toISOString() }, relativeTime(host.last_seen, now)),
        h('td', { class: 'num' }, host.current_boot === null ? '—' : `#${host.current_boot}`),
        h('td', { class: 'num' }, String(host.messages)),
        h('td', { class: 'num', 'data-role': 'rate' }, rate === null ? '—' : `${rate < 10 ? rate.toFixed(1) : Math.round(rate)}/min`),
        h('td', { class: 'num' + (host.lost_records ? ' bad' : '') }, `${host.lost_records}${host.gaps ? ` (${host.gaps} gaps)` : ''}`),
        h('td', { class: 'num' + (host.checksum_errors ? ' bad' : '') }, String(host.checksum_errors)),
        h('td', { class: 'num' + (host.bad_packets ? ' bad' : '') }, String(host.bad_packets)),
        h('td', {}, host.sources.map((s) => `${s.address} (${s.format})`).join(', ')),
        h('td', {}, boots),
        h('td', { class: 'actions' }, tail, search, reboot, incident)));
    }
  }
}
