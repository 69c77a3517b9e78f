// The live tail: one pane, or two hosts side by side; one filter (hosts, level, facility, text or
// /regex/) shared with search and kept in the address; pause, follow, download of what is kept.
import { byId, h, downloadText } from './dom.js';
import { EMPTY_FILTER, filterError, filterFromParams, sameFilter, type ViewFilter } from './filter.js';
import { LivePane } from './live-pane.js';

type Entry = { pane: LivePane; host: HTMLSelectElement | null };

export class LiveView {
  private readonly panes: Entry[] = [];
  private readonly container = byId('panes');
  private readonly pauseBtn = byId<HTMLButtonElement>('live-pause');
  private readonly followBox = byId<HTMLInputElement>('live-follow');
  private readonly hostsInput = byId<HTMLInputElement>('live-hosts');
  private readonly levelSel = byId<HTMLSelectElement>('live-level');
  private readonly facilitySel = byId<HTMLSelectElement>('live-facility');
  private readonly textInput = byId<HTMLInputElement>('live-regex');
  private readonly splitBox = byId<HTMLInputElement>('live-split');
  private readonly count = byId('live-count');
  private paused = false;
  private hosts: string[] = [];
  private filter: ViewFilter = EMPTY_FILTER;
  private splitHost = '';
  private typingTimer: number | undefined;
  /** False until the first filter is applied (the address decides the first subscription). */
  private isStarted = false;

  constructor(
    private readonly onStatus: (s: string) => void,
    private readonly openContext: (id: number) => void,
    /** Called with the filter whenever it changes, to keep the address (and search) in step. */
    private readonly onFilter: (f: ViewFilter, split: string) => void,
    /** The known hosts, fetched when the split needs one before the periodic refresh has run. */
    private readonly loadHosts: () => Promise<string[]>,
  ) {
    this.pauseBtn.addEventListener('click', () => this.togglePause());
    this.followBox.addEventListener('change', () => this.panes.forEach((p) => p.pane.setFollow(this.followBox.checked)));
    for (const el of [this.levelSel, this.facilitySel, this.hostsInput]) el.addEventListener('change', () => this.readForm());
    // Typing a regex: apply once the user pauses, not at every key.
    this.textInput.addEventListener('input', () => {
      window.clearTimeout(this.typingTimer);
      this.typingTimer = window.setTimeout(() => this.readForm(), 300);
    });
    this.textInput.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') this.readForm();
    });
    this.splitBox.addEventListener('change', () => void this.toggleSplit(this.splitBox.checked));
    byId('live-download').addEventListener('click', () => this.download());
    this.panes.push(this.makePane(null));
  }

  /** True once a filter was applied (the first subscription exists). */
  get started(): boolean {
    return this.isStarted;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get first(): LivePane {
    return this.panes[0]!.pane;
  }

  focusFilter(): void {
    this.textInput.focus();
    this.textInput.select();
  }

  togglePause(): void {
    this.paused = !this.paused;
    for (const p of this.panes) p.pane.setPaused(this.paused);
    this.update();
  }

  toggleFollow(): void {
    const on = !this.panes.every((p) => p.pane.following);
    for (const p of this.panes) p.pane.setFollow(on);
  }

  top(): void {
    for (const p of this.panes) p.pane.top();
  }

  bottom(): void {
    for (const p of this.panes) p.pane.setFollow(true);
  }

  /** Show one host (the hosts view's "Tail"). */
  tailHost(host: string): void {
    this.apply({ ...this.filter, hosts: [host] }, this.splitHost);
  }

  setHosts(hosts: string[]): void {
    this.hosts = hosts;
    const list = byId('known-hosts');
    for (const host of hosts) if (![...list.children].some((o) => (o as HTMLOptionElement).value === host)) list.append(h('option', { value: host }));
    const sel = this.panes[1]?.host;
    if (sel) for (const host of hosts) this.ensureOption(sel, host);
  }

  /** The view the address asks for (`#live?hosts=…&split=…`); resubscribes only what changed. */
  applyParams(p: URLSearchParams): void {
    this.apply(filterFromParams(p), p.get('split') ?? '');
  }

  private apply(f: ViewFilter, split: string): void {
    const changed = !this.isStarted || !sameFilter(f, this.filter);
    this.filter = f;
    this.writeForm();
    const err = filterError(f);
    this.textInput.setCustomValidity(err ?? '');
    this.textInput.title = err ?? '';
    if (err !== null) return;
    if (changed) {
      this.isStarted = true;
      void this.panes[0]!.pane.setFilter(f);
    }
    this.setSplit(split, changed);
    this.onFilter(f, this.splitHost);
  }

  private readForm(): void {
    const level = this.levelSel.value;
    const facility = this.facilitySel.value;
    this.apply({
      hosts: this.hostsInput.value.split(',').map((x) => x.trim()).filter((x) => x !== ''),
      level: level === '' ? null : Number(level),
      facility: facility === '' ? null : Number(facility),
      text: this.textInput.value,
    }, this.splitHost);
  }

  private writeForm(): void {
    this.hostsInput.value = this.filter.hosts.join(', ');
    this.levelSel.value = this.filter.level === null ? '' : String(this.filter.level);
    this.facilitySel.value = this.filter.facility === null ? '' : String(this.filter.facility);
    if (this.textInput.value !== this.filter.text) this.textInput.value = this.filter.text;
  }

  private ensureOption(sel: HTMLSelectElement, host: string): void {
    if (host !== '' && ![...sel.options].some((o) => o.value === host)) sel.append(h('option', { value: host }, host));
  }

  private makePane(hostSel: HTMLSelectElement | null): Entry {
    const count = h('span', { class: 'muted pane-count' });
    const title = h('div', { class: 'pane-title' }, hostSel ? h('label', {}, 'Host ', hostSel) : h('span', { class: 'pane-label' }, 'Live'), count);
    const pane = new LivePane(title, () => this.update(), (s) => this.onStatus(s), this.openContext);
    this.container.append(pane.root);
    pane.setPaused(this.paused);
    return { pane, host: hostSel };
  }

  /** The checkbox: a second pane on a host other than the first pane's, or none. */
  private async toggleSplit(on: boolean): Promise<void> {
    if (!on) return this.setSplit('');
    if (this.hosts.length === 0) this.setHosts(await this.loadHosts());
    const host = this.hosts.find((x) => !this.filter.hosts.includes(x)) ?? this.hosts[0] ?? '';
    if (host === '') this.splitBox.checked = false;
    else this.setSplit(host);
  }

  /** Side by side: a second pane on one host, with the shared filter's other parts. */
  private setSplit(host: string, filterChanged = false): void {
    const second = this.panes[1];
    if (host === '') {
      if (second) {
        this.panes.pop();
        second.pane.close();
        second.pane.root.remove();
      }
    } else if (!second) {
      const sel = h('select', { 'aria-label': 'second host', class: 'pane-host' });
      for (const x of this.hosts) this.ensureOption(sel, x);
      this.ensureOption(sel, host);
      sel.value = host;
      sel.addEventListener('change', () => this.setSplit(sel.value, true));
      const entry = this.makePane(sel);
      this.panes.push(entry);
      void entry.pane.setFilter({ ...this.filter, hosts: [host] });
    } else if (filterChanged || host !== this.splitHost) {
      this.ensureOption(second.host!, host);
      second.host!.value = host;
      void second.pane.setFilter({ ...this.filter, hosts: [host] });
    }
    const moved = host !== this.splitHost;
    this.splitHost = host;
    this.splitBox.checked = host !== '';
    this.container.classList.toggle('split', host !== '');
    if (moved) this.onFilter(this.filter, host);
    this.update();
  }

  private update(): void {
    this.pauseBtn.textContent = this.paused ? 'Resume' : 'Pause';
    this.pauseBtn.classList.toggle('active', this.paused);
    this.pauseBtn.setAttribute('aria-pressed', String(this.paused));
    this.followBox.checked = this.panes.every((p) => p.pane.following);
    const pending = this.panes.reduce((n, p) => n + p.pane.pendingCount, 0);
    this.count.textContent = this.paused ? `paused · ${pending} new lines waiting` : '';
    this.count.dataset.pending = String(pending);
    for (const p of this.panes) {
      const c = p.pane.title.querySelector('.pane-count');
      if (c) c.textContent = `${p.pane.shownCount.toLocaleString()} lines`;
    }
  }

  private download(): void {
    const text = this.panes.map((p) => p.pane.visibleText()).join('\n');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    downloadText(`netconsole-live-${stamp}.log`, text);
  }
}
