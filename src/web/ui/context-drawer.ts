// The panel that opens on a search result: the records around it in the same boot.
import { getJson, type Message } from './api.js';
import { byId, clear, h } from './dom.js';
import { lineElement } from './format.js';

interface Context {
  message: Message;
  before: Message[];
  after: Message[];
}

export class ContextDrawer {
  private readonly root = byId('context');
  private readonly body = byId('context-body');
  private readonly title = byId('context-title');
  private readonly links = byId('context-links');

  constructor() {
    byId('context-close').addEventListener('click', () => this.close());
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  close(): void {
    this.root.hidden = true;
  }

  async open(id: number): Promise<void> {
    this.root.hidden = false;
    this.title.textContent = `Context of #${id}`;
    clear(this.links);
    clear(this.body);
    this.body.append(h('p', { class: 'muted' }, 'loading…'));
    try {
      const ctx = await getJson<Context>(`/api/messages/${id}/context`, { before: 30, after: 30 });
      const m = ctx.message;
      this.title.textContent = `${m.host} · boot ${m.boot}${m.seq !== null ? ` · seq ${m.seq}` : ''}`;
      const base = `/api/hosts/${encodeURIComponent(m.host)}/boots/${m.boot}/log`;
      this.links.append(
        h('a', { href: `${base}?format=text`, download: true }, 'boot log (.log)'),
        h('a', { href: `${base}?format=ndjson`, download: true }, 'boot log (.ndjson)'),
      );
      clear(this.body);
      const target = lineElement(m);
      target.classList.add('target');
      // The record's dictionary and userdata (` KEY=value` lines): network input, shown as text.
      const entries = Object.entries(m.fields ?? {});
      const fields = entries.length === 0 ? null : h('dl', { class: 'fields', 'aria-label': 'record fields' },
        ...entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
      this.body.append(...ctx.before.map((x) => lineElement(x)), target, ...(fields ? [fields] : []), ...ctx.after.map((x) => lineElement(x)));
      target.scrollIntoView({ block: 'center' });
    } catch (err) {
      clear(this.body);
      this.body.append(h('p', { class: 'error' }, `could not load the context: ${(err as Error).message}`));
    }
  }
}
