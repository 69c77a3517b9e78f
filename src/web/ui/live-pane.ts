// One live tail: recent history, then its own WebSocket subscription with the view's filter (the
// server filters, so history and live agree), pause without losing lines, follow mode with an
// exact "N new lines" count, a reconnect that resumes from the last id (no hole), and a virtualised
// list capped at MAX_LINES.
import { getJson, liveUrl, type Message, type MessagePage } from './api.js';
import { h } from './dom.js';
import { apiParams, highlightRegex, liveFilters, type ViewFilter } from './filter.js';
import { lineElement, lineText } from './format.js';
import { highlighted } from './highlight.js';
import { VirtualLog } from './virtual-log.js';

/** Lines kept in the page; older ones leave from the top. */
export const MAX_LINES = 100_000;
/** Lines kept aside while paused; beyond, the pause notice says how many it let go. */
const MAX_PENDING = 100_000;
const BACKLOG = 200;

type Status = 'connecting' | 'live' | 'offline';

type Row = { kind: 'message'; m: Message; reboot: boolean } | { kind: 'incident'; id: number | null; kindName: string; host: string; headline: string };

export class LivePane {
  readonly root: HTMLElement;
  private readonly list: VirtualLog<Row>;
  private readonly notice: HTMLElement;
  private readonly newButton: HTMLButtonElement;
  private ws: WebSocket | null = null;
  private lastId: number | null = null;
  private filter: ViewFilter | null = null;
  private highlight: RegExp | null = null;
  private paused = false;
  private pending: Message[] = [];
  private pendingDropped = 0;
  private retryMs = 500;
  private retryTimer: number | undefined;
  private generation = 0;
  /** Each host's boot in the last line seen, to mark the line where a reboot starts. */
  private readonly lastBoot = new Map<string, number>();

  constructor(
    readonly title: HTMLElement,
    private readonly onChange: () => void,
    private readonly onStatus: (s: Status) => void,
    private readonly openContext: (id: number) => void,
  ) {
    this.list = new VirtualLog<Row>(MAX_LINES, (row) => this.renderRow(row), () => this.changed());
    this.notice = h('div', { class: 'pane-notice', hidden: true });
    this.newButton = h('button', { type: 'button', class: 'new-lines', hidden: true, title: 'Follow the newest line again (G)' });
    this.newButton.addEventListener('click', () => this.list.follow());
    this.root = h('section', { class: 'pane' }, title, this.notice, h('div', { class: 'pane-body' }, this.list.el, this.newButton));
    this.list.el.addEventListener('click', (ev) => {
      const line = (ev.target as HTMLElement).closest<HTMLElement>('.line[data-id]');
      if (line && !(ev.target as HTMLElement).closest('a')) this.openContext(Number(line.dataset.id));
    });
  }

  get following(): boolean {
    return this.list.following;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get shownCount(): number {
    return this.list.length;
  }

  get newLines(): number {
    return this.list.newLines;
  }

  get log(): HTMLElement {
    return this.list.el;
  }

  setFollow(on: boolean): void {
    if (on) this.list.follow();
    else this.list.unfollow();
  }

  top(): void {
    this.list.top();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) {
      const rows = this.pending;
      this.pending = [];
      this.append(rows);
      if (this.pendingDropped > 0) {
        this.showNotice(`${this.pendingDropped} lines arrived while paused beyond what the pause buffer keeps; use Search to see them.`);
        this.pendingDropped = 0;
      }
    }
    this.onChange();
  }

  /** A new filter: the recent matching history, then live from its newest id. */
  async setFilter(f: ViewFilter): Promise<void> {
    this.filter = f;
    this.highlight = highlightRegex(f);
    const generation = ++this.generation;
    window.clearTimeout(this.retryTimer);
    this.pending = [];
    this.lastBoot.clear();
    this.list.clear();
    this.hideNotice();
    this.ws?.close();
    this.ws = null;
    try {
      const page = await getJson<MessagePage>('/api/messages', { ...apiParams(f), limit: BACKLOG });
      if (generation !== this.generation) return;
      this.append(page.messages.slice().reverse());
      this.lastId = page.messages[0]?.id ?? page.newer ?? 0;
    } catch (err) {
      if (generation !== this.generation) return;
      this.showNotice(`could not load history: ${(err as Error).message}`);
      this.lastId = null;
    }
    this.connect(generation);
  }

  private connect(generation: number): void {
    if (generation !== this.generation) return;
    this.onStatus('connecting');
    const ws = new WebSocket(liveUrl());
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.retryMs = 500;
      ws.send(JSON.stringify({ filters: liveFilters(this.filter!), since_id: this.lastId ?? undefined }));
      this.onStatus('live');
    });
    ws.addEventListener('message', (ev) => {
      if (generation !== this.generation) return;
      let msg: { type?: string; rows?: Message[]; count?: number; reason?: string; incident?: Record<string, unknown>; message?: string };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.type === 'messages' && Array.isArray(msg.rows)) this.receive(msg.rows);
      else if (msg.type === 'missed') this.showNotice(`${msg.count ?? '?'} lines skipped (${msg.reason ?? 'too slow'}); use Search to see them.`);
      else if (msg.type === 'incident' && msg.incident) this.incident(msg.incident);
      else if (msg.type === 'error') this.showNotice(`live stream: ${msg.message ?? 'error'}`);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onStatus('offline');
      if (ev.reason) this.showNotice(`disconnected: ${ev.reason}`);
      this.retryTimer = window.setTimeout(() => this.connect(generation), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    });
  }

  close(): void {
    this.generation++;
    window.clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }

  private receive(rows: Message[]): void {
    if (rows.length === 0) return;
    this.lastId = Math.max(this.lastId ?? 0, rows[rows.length - 1]!.id);
    if (this.paused) {
      const room = MAX_PENDING - this.pending.length;
      if (rows.length > room) this.pendingDropped += rows.length - room;
      for (const r of rows.slice(0, Math.max(0, room))) this.pending.push(r);
      this.onChange();
      return;
    }
    this.append(rows);
  }

  private append(rows: Message[]): void {
    if (rows.length === 0) return;
    const out: Row[] = [];
    for (const m of rows) {
      const before = this.lastBoot.get(m.host);
      this.lastBoot.set(m.host, m.boot);
      out.push({ kind: 'message', m, reboot: before !== undefined && before !== m.boot });
    }
    this.list.append(out);
  }

  private incident(incident: Record<string, unknown>): void {
    const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    this.list.append([{
      kind: 'incident',
      id: typeof incident.id === 'number' ? incident.id : null,
      kindName: str(incident.kind) || 'incident',
      host: str(incident.host),
      headline: str(incident.headline) || str(incident.title) || str(incident.summary),
    }]);
  }

  private renderRow(row: Row): HTMLElement {
    if (row.kind === 'message') {
      const el = lineElement(row.m, this.highlight ? highlighted(row.m.text, this.highlight) : undefined, row.reboot);
      el.classList.add('vline');
      return el;
    }
    return h('div', { class: 'line vline incident', role: 'alert' },
      h('span', { class: 'c-badge' }, row.kindName.toUpperCase()),
      h('span', { class: 'c-host' }, row.host),
      row.id === null ? h('span', { class: 'c-text' }, row.headline) : h('a', { class: 'c-text', href: `#incidents/${row.id}` }, row.headline));
  }

  private changed(): void {
    const n = this.list.newLines;
    this.newButton.hidden = this.list.following || n === 0;
    this.newButton.textContent = `↓ ${n} new line${n === 1 ? '' : 's'}`;
    this.newButton.dataset.count = String(n);
    this.onChange();
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  private hideNotice(): void {
    this.notice.hidden = true;
  }

  /** Every line kept in the pane, as text. */
  visibleText(): string {
    return this.list.all.filter((r) => r.kind === 'message').map((r) => lineText((r as { m: Message }).m)).join('\n') + '\n';
  }
}
