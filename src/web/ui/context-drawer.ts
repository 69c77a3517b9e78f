// The panel that opens on any record (a search hit, a live line, `#record/ID`): the records around
// it in its boot, kernel order, ±N, growing both ways on demand; the boot's download links.
import { getJson, type Message } from './api.js';
import { byId, clear, h } from './dom.js';
import { lineElement } from './format.js';

interface Context {
  message: Message;
  before: Message[];
  after: Message[];
}

const SPANS = [10, 30, 100, 500];

export class ContextDrawer {
  private readonly root = byId('context');
  private readonly body = byId('context-body');
  private readonly title = byId('context-title');
  private readonly links = byId('context-links');
  private readonly span = byId<HTMLSelectElement>('context-span');
  private readonly olderBtn = byId<HTMLButtonElement>('context-older');
  private readonly newerBtn = byId<HTMLButtonElement>('context-newer');
  private firstId: number | null = null;
  private lastId: number | null = null;
  private current: number | null = null;
  private loading = false;
  /** The address of the view under the panel, restored when a `#record/ID` panel closes. */
  returnTo = '#live';

  constructor() {
    byId('context-close').addEventListener('click', () => this.close());
    for (const n of SPANS) this.span.append(h('option', { value: String(n) }, `±${n}`));
    this.span.value = '30';
    this.span.addEventListener('change', () => this.current !== null && void this.open(this.current));
    this.olderBtn.addEventListener('click', () => void this.more('older'));
    this.newerBtn.addEventListener('click', () => void this.more('newer'));
    // Scrolling to either end loads the next lines that way.
    this.body.addEventListener('scroll', () => {
      if (this.loading) return;
      if (this.body.scrollTop < 40 && !this.olderBtn.disabled) void this.more('older');
      else if (this.body.scrollTop + this.body.clientHeight > this.body.scrollHeight - 40 && !this.newerBtn.disabled) void this.more('newer');
    }, { passive: true });
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  close(): void {
    this.root.hidden = true;
    this.current = null;
    if (/^#record\//.test(location.hash)) history.replaceState(null, '', this.returnTo);
  }

  private n(): number {
    return Number(this.span.value) || 30;
  }

  async open(id: number): Promise<void> {
    this.root.hidden = false;
    this.current = id;
    this.title.textContent = `Context of #${id}`;
    clear(this.links);
    clear(this.body);
    this.olderBtn.disabled = this.newerBtn.disabled = true;
    this.body.append(h('p', { class: 'muted' }, 'loading…'));
    this.loading = true;
    try {
      const n = this.n();
      const ctx = await getJson<Context>(`/api/messages/${id}/context`, { before: n, after: n });
      if (this.current !== id) return;
      const m = ctx.message;
      this.title.textContent = `${m.host} · boot ${m.boot}${m.seq !== null ? ` · seq ${m.seq}` : ''}`;
      const base = `/api/hosts/${encodeURIComponent(m.host)}/boots/${m.boot}/log`;
      this.links.append(
        h('a', { href: `#record/${m.id}`, title: 'a link to this record in its context' }, 'permalink'),
        h('a', { href: `${base}?format=text`, download: `${m.host}-boot${m.boot}.log`, title: 'the whole boot, like dmesg' }, 'boot log (.log)'),
        h('a', { href: `${base}?format=ndjson`, download: `${m.host}-boot${m.boot}.ndjson` }, 'boot log (.ndjson)'),
      );
      clear(this.body);
      const target = lineElement(m);
      target.classList.add('target');
      // The record's dictionary and userdata (` KEY=value` lines): network input, shown as text.
      const entries = Object.entries(m.fields ?? {});
      const fields = entries.length === 0 ? null : h('dl', { class: 'fields', 'aria-label': 'record fields' },
        ...entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
      this.body.append(...ctx.before.map((x) => lineElement(x)), target, ...(fields ? [fields] : []), ...ctx.after.map((x) => lineElement(x)));
      this.firstId = ctx.before[0]?.id ?? m.id;
      this.lastId = ctx.after[ctx.after.length - 1]?.id ?? m.id;
      this.olderBtn.disabled = ctx.before.length < n;
      this.newerBtn.disabled = ctx.after.length < n;
      target.scrollIntoView({ block: 'center' });
    } catch (err) {
      clear(this.body);
      this.body.append(h('p', { class: 'error' }, `could not load the context: ${(err as Error).message}`));
    } finally {
      this.loading = false;
    }
  }

  /** The next N records before the first shown or after the last shown (same boot, same order). */
  private async more(way: 'older' | 'newer'): Promise<void> {
    const anchor = way === 'older' ? this.firstId : this.lastId;
    const id = this.current;
    if (anchor === null || this.loading) return;
    this.loading = true;
    try {
      const n = this.n();
      const ctx = await getJson<Context>(`/api/messages/${anchor}/context`, way === 'older' ? { before: n, after: 0 } : { before: 0, after: n });
      if (this.current !== id) return;
      const rows = way === 'older' ? ctx.before : ctx.after;
      const els = rows.map((x) => lineElement(x));
      if (way === 'older') {
        // Keep the lines in view where they are while lines are added above them.
        const fromBottom = this.body.scrollHeight - this.body.scrollTop;
        this.body.prepend(...els);
        this.body.scrollTop = this.body.scrollHeight - fromBottom;
        if (rows.length) this.firstId = rows[0]!.id;
        this.olderBtn.disabled = rows.length < n;
      } else {
        this.body.append(...els);
        if (rows.length) this.lastId = rows[rows.length - 1]!.id;
        this.newerBtn.disabled = rows.length < n;
      }
    } catch (err) {
      this.body.append(h('p', { class: 'error' }, `could not load more: ${(err as Error).message}`));
    } finally {
      this.loading = false;
    }
  }
}
