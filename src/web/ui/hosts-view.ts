// Each host's status: last seen, reboots, lost records, checksum errors, bad packets, boot logs.
import { getJson, type HostSummary } from './api.js';
import { byId, clear, h } from './dom.js';
import { relativeTime } from './format.js';

const SILENT_AFTER_MS = 5 * 60_000;

export class HostsView {
  private readonly body = byId('hosts-body');
  private readonly info = byId('hosts-info');
  hosts: HostSummary[] = [];

  constructor(private readonly actions: { tail(host: string): void; search(host: string): void }) {}

  async refresh(): Promise<HostSummary[]> {
    try {
      const { hosts } = await getJson<{ hosts: HostSummary[] }>('/api/hosts');
      this.hosts = hosts;
      this.render();
      this.info.textContent = hosts.length === 0 ? 'No host has sent anything yet.' : '';
    } catch (err) {
      this.info.textContent = `could not load hosts: ${(err as Error).message}`;
    }
    return this.hosts;
  }

  private render(): void {
    clear(this.body);
    const now = Date.now();
    for (const host of this.hosts) {
      const silent = now - host.last_seen > SILENT_AFTER_MS;
      const badges = h('span', { class: 'badges' },
        silent ? h('span', { class: 'badge warn' }, 'silent') : h('span', { class: 'badge ok' }, 'sending'),
        host.rebooted && h('span', { class: 'badge info' }, 'rebooted'),
        host.lost_records > 0 && h('span', { class: 'badge err' }, 'lost records'),
        host.checksum_errors > 0 && h('span', { class: 'badge err' }, 'checksum errors'));
      const tail = h('button', { type: 'button', class: 'small' }, 'Tail');
      tail.addEventListener('click', () => this.actions.tail(host.host));
      const search = h('button', { type: 'button', class: 'small' }, 'Search');
      search.addEventListener('click', () => this.actions.search(host.host));
      const boots = h('span', { class: 'boot-links' },
        ...host.boots.slice(-5).map((b) =>
          h('a', { href: `/api/hosts/${encodeURIComponent(host.host)}/boots/${b.boot}/log`, download: true, title: `${b.messages} records${b.release ? `, ${b.release}` : ''}` }, `#${b.boot}`)));
      this.body.append(h('tr', {},
        h('td', {}, h('strong', {}, host.host), host.name ? h('div', { class: 'muted' }, host.address) : null),
        h('td', {}, badges),
        h('td', { title: new Date(host.last_seen).toISOString() }, relativeTime(host.last_seen, now)),
        h('td', { class: 'num' }, host.current_boot === null ? '—' : `#${host.current_boot}`),
        h('td', { class: 'num' }, String(host.messages)),
        h('td', { class: 'num' + (host.lost_records ? ' bad' : '') }, `${host.lost_records}${host.gaps ? ` (${host.gaps} gaps)` : ''}`),
        h('td', { class: 'num' + (host.checksum_errors ? ' bad' : '') }, String(host.checksum_errors)),
        h('td', { class: 'num' + (host.bad_packets ? ' bad' : '') }, String(host.bad_packets)),
        h('td', {}, host.sources.map((s) => `${s.address} (${s.format})`).join(', ')),
        h('td', {}, boots),
        h('td', { class: 'actions' }, tail, search)));
    }
  }
}
