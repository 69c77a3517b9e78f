// One live tail: its own WebSocket subscription (host, level), a client-side regex filter, pause
// without losing lines, follow mode, and a reconnect that resumes from the last id (no hole).
import { getJson, liveUrl, type Message, type MessagePage } from './api.js';
import { h, clear } from './dom.js';
import { lineElement, lineText } from './format.js';

const MAX_LINES = 5000;
const MAX_PENDING = 50_000;
const BACKLOG = 200;

export interface PaneFilters {
  host: string;
  level: string;
}

type Status = 'connecting' | 'live' | 'offline';

export class LivePane {
  readonly root: HTMLElement;
  readonly log: HTMLElement;
  private readonly notice: HTMLElement;
  private ws: WebSocket | null = null;
  private lastId: number | null = null;
  private filters: PaneFilters = { host: '', level: '' };
  private regex: RegExp | null = null;
  private paused = false;
  private pending: Message[] = [];
  private pendingDropped = 0;
  private follow = true;
  private retryMs = 500;
  private retryTimer: number | undefined;
  private generation = 0;
  /** Lines currently in the pane (shown or hidden by the regex), in order. */
  private lines: { m: Message; el: HTMLElement }[] = [];

  constructor(
    readonly title: HTMLElement,
    private readonly onChange: () => void,
    private readonly onStatus: (s: Status) => void,
  ) {
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'off', tabindex: '0' });
    this.notice = h('div', { class: 'pane-notice', hidden: true });
    this.root = h('section', { class: 'pane' }, title, this.notice, this.log);
    this.log.addEventListener('scroll', () => {
      const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 24;
      if (this.follow !== atBottom) {
        this.follow = atBottom;
        this.onChange();
      }
    });
  }

  get following(): boolean {
    return this.follow;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get shownCount(): number {
    return this.lines.length;
  }

  setFollow(on: boolean): void {
    this.follow = on;
    if (on) this.scrollToEnd();
    this.onChange();
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

  setRegex(re: RegExp | null): void {
    this.regex = re;
    for (const l of this.lines) l.el.hidden = !this.matches(l.m);
    if (this.follow) this.scrollToEnd();
  }

  /** New filters: show the recent matching history, then go live from its newest id. */
  async setFilters(f: PaneFilters): Promise<void> {
    this.filters = f;
    const generation = ++this.generation;
    this.lines = [];
    this.pending = [];
    clear(this.log);
    this.hideNotice();
    this.ws?.close();
    this.ws = null;
    try {
      const page = await getJson<MessagePage>('/api/messages', { host: f.host, level: f.level, limit: BACKLOG });
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
      const filters: Record<string, string | number> = {};
      if (this.filters.host) filters.host = this.filters.host;
      if (this.filters.level !== '') filters.level = Number(this.filters.level);
      ws.send(JSON.stringify({ filters, since_id: this.lastId ?? undefined }));
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
      this.pending.push(...rows.slice(0, Math.max(0, room)));
      this.onChange();
      return;
    }
    this.append(rows);
  }

  private append(rows: Message[]): void {
    if (rows.length === 0) return;
    const frag = document.createDocumentFragment();
    for (const m of rows) {
      const el = lineElement(m);
      el.hidden = !this.matches(m);
      this.lines.push({ m, el });
      frag.append(el);
    }
    this.log.append(frag);
    const excess = this.lines.length - MAX_LINES;
    if (excess > 0) for (const l of this.lines.splice(0, excess)) l.el.remove();
    if (this.follow) this.scrollToEnd();
    this.onChange();
  }

  private incident(incident: Record<string, unknown>): void {
    const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    const kind = str(incident.kind) || 'incident';
    const headline = str(incident.headline) || str(incident.title) || str(incident.summary);
    const id = typeof incident.id === 'number' ? incident.id : null;
    const el = h('div', { class: 'line incident', role: 'alert' },
      h('span', { class: 'c-badge' }, kind.toUpperCase()),
      h('span', { class: 'c-host' }, str(incident.host)),
      id === null ? h('span', { class: 'c-text' }, headline) : h('a', { class: 'c-text', href: `#incidents/${id}` }, headline));
    this.log.append(el);
    if (this.follow) this.scrollToEnd();
  }

  private matches(m: Message): boolean {
    return this.regex === null || this.regex.test(m.text) || this.regex.test(m.host);
  }

  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  private hideNotice(): void {
    this.notice.hidden = true;
  }

  /** What is on screen (after the regex filter), as text. */
  visibleText(): string {
    return this.lines.filter((l) => !l.el.hidden).map((l) => lineText(l.m)).join('\n') + '\n';
  }
}
