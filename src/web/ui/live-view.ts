// The live tail: one pane, or two hosts side by side; shared level and regex filters, pause,
// follow and download of what is on screen.
import { byId, h, downloadText } from './dom.js';
import { LivePane } from './live-pane.js';

export class LiveView {
  private readonly panes: { pane: LivePane; host: HTMLSelectElement }[] = [];
  private readonly container = byId('panes');
  private readonly pauseBtn = byId<HTMLButtonElement>('live-pause');
  private readonly followBox = byId<HTMLInputElement>('live-follow');
  private readonly levelSel = byId<HTMLSelectElement>('live-level');
  private readonly regexInput = byId<HTMLInputElement>('live-regex');
  private readonly splitBox = byId<HTMLInputElement>('live-split');
  private readonly count = byId('live-count');
  private paused = false;
  private hosts: string[] = [];

  constructor(private readonly onStatus: (s: string) => void) {
    this.pauseBtn.addEventListener('click', () => this.togglePause());
    this.followBox.addEventListener('change', () => this.panes.forEach((p) => p.pane.setFollow(this.followBox.checked)));
    this.levelSel.addEventListener('change', () => this.panes.forEach((p) => this.resubscribe(p)));
    this.regexInput.addEventListener('input', () => this.applyRegex());
    this.splitBox.addEventListener('change', () => this.setSplit(this.splitBox.checked));
    byId('live-download').addEventListener('click', () => this.download());
    this.addPane('');
  }

  get isPaused(): boolean {
    return this.paused;
  }

  focusFilter(): void {
    this.regexInput.focus();
    this.regexInput.select();
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

  /** Show one host in the first pane. */
  tailHost(host: string): void {
    const first = this.panes[0]!;
    this.ensureOption(first.host, host);
    first.host.value = host;
    this.resubscribe(first);
  }

  setHosts(hosts: string[]): void {
    this.hosts = hosts;
    for (const p of this.panes) for (const host of hosts) this.ensureOption(p.host, host);
  }

  private ensureOption(sel: HTMLSelectElement, host: string): void {
    if (host !== '' && ![...sel.options].some((o) => o.value === host)) sel.append(h('option', { value: host }, host));
  }

  private addPane(host: string): void {
    const sel = h('select', { 'aria-label': 'host', class: 'pane-host' }, h('option', { value: '' }, 'all hosts'));
    for (const hst of this.hosts) this.ensureOption(sel, hst);
    sel.value = host;
    const count = h('span', { class: 'muted pane-count' });
    const title = h('div', { class: 'pane-title' }, h('label', {}, 'Host ', sel), count);
    const pane = new LivePane(title, () => this.update(), (s) => this.onStatus(s));
    const entry = { pane, host: sel };
    sel.addEventListener('change', () => this.resubscribe(entry));
    this.panes.push(entry);
    this.container.append(pane.root);
    this.container.classList.toggle('split', this.panes.length > 1);
    pane.setPaused(this.paused);
    this.applyRegex();
    this.resubscribe(entry);
  }

  private setSplit(on: boolean): void {
    if (on && this.panes.length === 1) {
      // Side by side: the second pane starts on another host than the first when there is one.
      const other = this.hosts.find((x) => x !== this.panes[0]!.host.value) ?? '';
      this.addPane(other);
    } else if (!on && this.panes.length > 1) {
      const last = this.panes.pop()!;
      last.pane.close();
      last.pane.root.remove();
      this.container.classList.remove('split');
    }
    this.update();
  }

  private resubscribe(p: { pane: LivePane; host: HTMLSelectElement }): void {
    void p.pane.setFilters({ host: p.host.value, level: this.levelSel.value });
  }

  private applyRegex(): void {
    const src = this.regexInput.value;
    let re: RegExp | null = null;
    if (src !== '') {
      try {
        re = new RegExp(src, 'i');
        this.regexInput.setCustomValidity('');
      } catch (err) {
        this.regexInput.setCustomValidity((err as Error).message);
        this.regexInput.title = (err as Error).message;
        return;
      }
    }
    this.regexInput.title = '';
    for (const p of this.panes) p.pane.setRegex(re);
  }

  private update(): void {
    this.pauseBtn.textContent = this.paused ? 'Resume' : 'Pause';
    this.pauseBtn.classList.toggle('active', this.paused);
    this.pauseBtn.setAttribute('aria-pressed', String(this.paused));
    this.followBox.checked = this.panes.every((p) => p.pane.following);
    const pending = this.panes.reduce((n, p) => n + p.pane.pendingCount, 0);
    this.count.textContent = this.paused ? `paused · ${pending} new lines waiting` : '';
    for (const p of this.panes) {
      const c = p.pane.title.querySelector('.pane-count');
      if (c) c.textContent = `${p.pane.shownCount} lines`;
    }
  }

  private download(): void {
    const text = this.panes.map((p) => p.pane.visibleText()).join('\n');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    downloadText(`netconsole-live-${stamp}.log`, text);
  }
}
