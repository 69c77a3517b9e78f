// One WebSocket client of GET /api/live.
//
// Protocol. The client sends `{"filters": {"host", "level", "text"}, "since_id": N}` (any time; each
// message replaces the previous subscription). Nothing is sent before the first one. The server
// answers `{"type":"subscribed"}`, then `{"type":"messages","rows":[…]}` batches,
// `{"type":"missed","count":N}` when it had to skip records, `{"type":"incident","incident":{…}}`,
// and `{"type":"error","message":…}` for a bad request.
//
// No hole, no duplicate on resume: records are published only after they are stored, so the
// session replays `id > since_id` from the database page by page while ignoring publications, and
// switches to live in the same tick as the replay query that came back short. Anything stored by
// then is in the replay; anything published later has a larger id; `cursor` drops the overlap.
//
// Stored but never published. `serve` asks the writer for stored rows only while a client watches,
// so the batches already on their way when the first client arrives come back without rows. Ids
// are given out in commit order, so such a batch shows as a hole between the ids a session has
// seen (or the newest id when it subscribed) and the next publication; the session reads the hole
// from the database before delivering that publication.
import type { LiveHub, LiveLimits, LiveSubscriber } from './live.js';
import { matchesLiveFilter, RegexFilterError, regexFilter, type LiveFilter } from '../receiver/store/filters.js';
import type { StoreQueries } from '../receiver/store/port.js';
import type { MessageJson } from './types.js';

/** The part of a `ws` WebSocket the session uses. */
export interface LiveSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;
const REPLAY_COUNT_CAP = 1_000_000;

export interface Subscription {
  host?: string;
  /** Any of these hosts (with `host`, if given). */
  hosts?: string[];
  level?: number;
  facility?: number;
  text?: string;
  /** A text-filter.ts regex, already checked to compile. */
  regex?: string;
  since_id?: number;
}

/** Validates a client message; returns the subscription or a one-line error. */
export function parseSubscription(raw: string): Subscription | { error: string } {
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    return { error: 'message is not JSON; send {"filters":{"host","level","text"},"since_id":N}' };
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return { error: 'message must be a JSON object' };
  const m = msg as { filters?: unknown; since_id?: unknown };
  const out: Subscription = {};
  if (m.since_id !== undefined && m.since_id !== null) {
    if (typeof m.since_id !== 'number' || !Number.isSafeInteger(m.since_id) || m.since_id < 0) return { error: 'since_id must be a non-negative integer' };
    out.since_id = m.since_id;
  }
  if (m.filters !== undefined && m.filters !== null) {
    if (typeof m.filters !== 'object' || Array.isArray(m.filters)) return { error: 'filters must be an object' };
    const f = m.filters as { host?: unknown; hosts?: unknown; level?: unknown; facility?: unknown; text?: unknown; regex?: unknown };
    if (f.host !== undefined && f.host !== null && f.host !== '') {
      if (typeof f.host !== 'string' || f.host.length > 255) return { error: 'filters.host must be a string of at most 255 characters' };
      out.host = f.host;
    }
    if (f.level !== undefined && f.level !== null && f.level !== '') {
      if (typeof f.level !== 'number' || !Number.isInteger(f.level) || f.level < 0 || f.level > 7) return { error: 'filters.level must be an integer 0..7' };
      out.level = f.level;
    }
    if (f.text !== undefined && f.text !== null && f.text !== '') {
      if (typeof f.text !== 'string' || f.text.length > 1000) return { error: 'filters.text must be a string of at most 1000 characters' };
      out.text = f.text;
    }
    if (f.hosts !== undefined && f.hosts !== null) {
      if (!Array.isArray(f.hosts) || f.hosts.length > 100 || !f.hosts.every((x) => typeof x === 'string' && x !== '' && x.length <= 255)) {
        return { error: 'filters.hosts must be a list of at most 100 host names' };
      }
      if (f.hosts.length > 0) out.hosts = f.hosts as string[];
    }
    if (f.facility !== undefined && f.facility !== null && f.facility !== '') {
      if (typeof f.facility !== 'number' || !Number.isInteger(f.facility) || f.facility < 0 || f.facility > 127) return { error: 'filters.facility must be an integer 0..127' };
      out.facility = f.facility;
    }
    if (f.regex !== undefined && f.regex !== null && f.regex !== '') {
      if (typeof f.regex !== 'string' || f.regex.length > 1000) return { error: 'filters.regex must be a string of at most 1000 characters' };
      try {
        regexFilter(f.regex);
      } catch (err) {
        if (err instanceof RegexFilterError) return { error: err.message };
        throw err;
      }
      out.regex = f.regex;
    }
  }
  return out;
}

export class LiveSession implements LiveSubscriber {
  private state: 'waiting' | 'replaying' | 'live' | 'closed' = 'waiting';
  /** Highest id delivered or deliberately skipped; null = take whatever is published next. */
  private cursor: number | null = null;
  /** With cursor null: the newest stored id when the subscription was made (to notice a hole). */
  private floor: number | null = null;
  private filter: LiveFilter = {};
  private hostNames: Set<string> | undefined;
  private lagging = false;
  private missed = 0;
  /** Bumped by each subscription so an older replay loop stops. */
  private generation = 0;
  private readonly unsubscribe: () => void;
  private readonly limits: LiveLimits;
  /**
   * The store answers asynchronously: subscriptions and published batches are handled one after
   * another on this chain, so rows go out in order and none is sent before its subscription's reply.
   */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: LiveSocket,
    private readonly queries: StoreQueries,
    hub: LiveHub,
  ) {
    this.limits = hub.limits;
    this.unsubscribe = hub.subscribe(this);
  }

  handleMessage(raw: string): void {
    this.serially(() => this.subscribe(raw));
  }

  /** Runs `step` after every earlier one; a failing step reports itself and the chain goes on. */
  private serially(step: () => Promise<void> | void): void {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      if (err instanceof RegexFilterError) this.send({ type: 'error', message: err.message });
      else this.send({ type: 'error', message: `store query failed: ${(err as Error).message.split('\n')[0]}` });
    });
  }

  private async subscribe(raw: string): Promise<void> {
    if (this.state === 'closed') return;
    const sub = parseSubscription(raw);
    if ('error' in sub) {
      this.send({ type: 'error', message: sub.error });
      return;
    }
    this.generation++;
    this.filter = { level: sub.level, text: sub.text, facility: sub.facility, regex: sub.regex === undefined ? undefined : regexFilter(sub.regex) };
    this.hostNames = undefined;
    const names = [...(sub.host !== undefined ? [sub.host] : []), ...(sub.hosts ?? [])];
    if (names.length > 0) {
      const hosts = (await Promise.all(names.map((n) => this.queries.resolveHost(n)))).flat();
      this.filter.hosts = hosts;
      this.hostNames = new Set([...names, ...hosts.map((h) => h.name ?? h.address)]);
    }
    this.lagging = false;
    this.missed = 0;
    // The floor is read before the reply: every row stored after the client hears 'subscribed' is
    // then above it (published, or read as a hole). Read after the reply, a batch stored
    // unpublished in between fell below the floor and was never sent.
    const floor = sub.since_id === undefined && this.queries.idsInCommitOrder ? await this.queries.maxMessageId() : null;
    this.send({
      type: 'subscribed',
      filters: {
        host: sub.host ?? null, level: sub.level ?? null, text: sub.text ?? null,
        ...(sub.hosts ? { hosts: sub.hosts } : {}), ...(sub.facility !== undefined ? { facility: sub.facility } : {}), ...(sub.regex ? { regex: sub.regex } : {}),
      },
      since_id: sub.since_id ?? null,
    });
    if (sub.since_id === undefined) {
      this.cursor = null;
      this.floor = floor;
      this.state = 'live';
    } else {
      void this.replay(sub.since_id, this.generation);
    }
  }

  private async replay(sinceId: number, generation: number): Promise<void> {
    this.state = 'replaying';
    let cursor = sinceId;
    const start = await this.queries.replayStart(cursor, this.filter, this.limits.maxReplay, REPLAY_COUNT_CAP);
    if (start.skipped > 0) {
      this.send({ type: 'missed', count: start.skipped, reason: `resume replays at most ${this.limits.maxReplay} records` });
      cursor = start.cursor;
    }
    for (;;) {
      if (this.superseded(generation)) return;
      const rows = await this.queries.liveAfter(cursor, this.filter, this.limits.replayPage);
      // A subscription made while the page was read owns the session now.
      if (this.superseded(generation)) return;
      if (rows.length > 0) {
        this.send({ type: 'messages', rows });
        cursor = rows[rows.length - 1]!.id;
      }
      if (rows.length < this.limits.replayPage) {
        this.cursor = cursor;
        this.state = 'live';
        return;
      }
      await this.drained(generation);
    }
  }

  /** A newer subscription or a close ended this replay (closing also bumps the generation). */
  private superseded(generation: number): boolean {
    return generation !== this.generation;
  }

  /** Resolves once the socket's unsent bytes are low again (or the session moved on). */
  private async drained(generation: number): Promise<void> {
    while (this.socket.bufferedAmount > this.limits.resumeBelowBytes && !this.superseded(generation)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  onRows(rows: readonly MessageJson[], after?: number): void {
    if (this.state === 'closed') return;
    this.serially(() => this.deliver(rows, after));
  }

  private async deliver(rows: readonly MessageJson[], after: number | undefined): Promise<void> {
    if (this.state !== 'live') return;
    const fresh: MessageJson[] = [];
    const seen = this.cursor ?? this.floor;
    // A hole: rows committed (but not published) since those seen. Dense ids (SQLite) show it by a
    // jump; rising but sparse ones (a ClickHouse collector's) by the writer's `after`.
    const hole = seen !== null && this.queries.idsInCommitOrder && (after !== undefined ? after > seen : rows[0]!.id > seen + 1);
    if (hole) {
      // Rows of the hole were committed before these (ids are commit order): all are there now.
      const hole = await this.queries.liveBetween(seen, rows[0]!.id, this.filter, this.limits.maxReplay);
      fresh.push(...hole);
    }
    this.floor = null;
    for (const r of rows) {
      if (this.cursor !== null && r.id <= this.cursor) continue;
      if (matchesLiveFilter(r, this.filter, this.hostNames)) fresh.push(r);
    }
    this.cursor = Math.max(this.cursor ?? 0, rows[rows.length - 1]!.id);
    if (fresh.length === 0) return;
    if (this.lagging && this.socket.bufferedAmount < this.limits.resumeBelowBytes) this.lagging = false;
    if (!this.lagging && this.socket.bufferedAmount > this.limits.maxBufferedBytes) this.lagging = true;
    if (this.lagging) {
      this.missed += fresh.length;
      if (this.missed > this.limits.maxMissed) this.disconnect(`client too slow: ${this.missed} records missed`);
      return;
    }
    this.flushMissed();
    this.send({ type: 'messages', rows: fresh });
  }

  onIncident(incident: unknown): void {
    if (this.state !== 'live' || this.lagging) return;
    const host = (incident as { host?: unknown } | null)?.host;
    if (this.hostNames !== undefined && typeof host === 'string' && !this.hostNames.has(host)) return;
    this.send({ type: 'incident', incident });
  }

  tick(): void {
    if (this.state === 'live' && this.lagging && this.socket.bufferedAmount < this.limits.resumeBelowBytes) {
      this.lagging = false;
      this.flushMissed();
    }
  }

  private flushMissed(): void {
    if (this.missed === 0) return;
    this.send({ type: 'missed', count: this.missed, reason: 'client too slow' });
    this.missed = 0;
  }

  private disconnect(reason: string): void {
    this.close();
    // 1008 = policy violation; the reason is shown to the client (at most 123 bytes).
    this.socket.close(1008, reason.slice(0, 120));
  }

  private send(msg: object): void {
    if (this.state === 'closed' || this.socket.readyState !== OPEN) return;
    this.socket.send(JSON.stringify(msg));
  }

  /** Detaches from the hub; idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.generation++;
    this.unsubscribe();
  }
}
