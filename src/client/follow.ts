// `tail`'s engine: optional history over HTTP, then the live stream, then resumes after every
// disconnect, delivering each matching record once, in id (arrival) order.
//
// The seam. The live subscription is made first and its rows are buffered; then the newest stored
// id N is read and history is paged up to N. Every record is in one of the two: one stored before
// the subscription is in the database when history reads it, one stored after it is published to
// the subscription. Buffered rows at or below the last id delivered are the overlap and are dropped.
// After a disconnect the collector replays from the last id seen (`since_id`), so outages leave no
// hole either (beyond the 20 000 records a resume replays, which it reports as missed).
import type { MessageJson } from '../web/types.js';
import { ConnectError, LiveConnection, type LiveEvent, type LiveSubscription } from './live.js';
import type { HistoryFilters, HubHttp } from './http.js';

const MAX_BUFFERED = 100_000;
const SUBSCRIBE_TIMEOUT_MS = 15_000;
/** A connection that ended sooner than this after it opened does not reset the backoff. */
const STABLE_MS = 10_000;

export interface FollowOptions {
  http: HubHttp;
  /** Filters the collector applies to live rows (and history). */
  live: LiveSubscription['filters'];
  /** History before following: the API's filters, or undefined for none (follow from now). */
  history?: HistoryFilters;
  pageSize: number;
  /** Rows matching the collector's filters, in id order, each once; returns once it is written. */
  deliver: (row: MessageJson) => void | Promise<void>;
  /** A line for stderr: reconnects, skipped records. */
  notice: (msg: string) => void;
  /** Rows buffered during history beyond this are dropped and replayed by the collector instead. */
  maxBuffered?: number;
  /** Reconnect delays: doubling from the first to the last, ms. */
  backoff?: { firstMs: number; maxMs: number };
}

export class Follower {
  /** Highest id delivered or known to be before the start. */
  private cursor = 0;
  private conn: LiveConnection | null = null;
  /** Rows (or events) waiting their turn: keeps delivery sequential even when writes wait. */
  private queue: LiveEvent[] = [];
  private mode: 'buffering' | 'live' | 'waiting-subscribed' = 'buffering';
  private overflowed = false;
  private draining: Promise<void> = Promise.resolve();
  private fail!: (err: Error) => void;
  private stopped = false;
  private stopResolve: () => void = () => {};
  /** History is done: a reconnect waits for it, so its replay cannot interleave with history. */
  private startedResolve!: () => void;
  private readonly started = new Promise<void>((r) => (this.startedResolve = r));
  private subscribedOnce = false;
  private subscribedWaiter: (() => void) | null = null;
  /** Set once the stream resumes with since_id: its rows go straight to delivery. */
  private resumed = false;
  /** When the current connection opened, and the delay before it (for the backoff). */
  private connectedAt = 0;
  private lastDelay = 0;

  constructor(private readonly o: FollowOptions) {}

  /** Runs until a fatal error (rejects with it) or stop(). */
  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.fail = (err) => {
        reject(err); // first: stop() resolves
        this.stop();
      };
      this.stopResolve = resolve;
      this.start().catch((err: Error) => this.fail(err));
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.conn?.close();
    this.stopResolve();
  }

  private async start(): Promise<void> {
    const conn = await this.connectOnce(); // a collector that is down at start is an error, not a retry
    this.attach(conn);
    this.connectedAt = Date.now();
    this.mode = 'waiting-subscribed';
    const subscribed = this.nextSubscribed();
    conn.subscribe({ filters: this.o.live });
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the collector at ${this.o.http.base.href} accepted the live stream but did not answer the subscription within ${SUBSCRIBE_TIMEOUT_MS / 1000} s`)), SUBSCRIBE_TIMEOUT_MS);
    });
    await Promise.race([subscribed, silent]).finally(() => clearTimeout(timer));
    const newest = await this.o.http.newestId();
    if (this.o.history !== undefined) {
      let n = 0;
      for await (const page of this.o.http.history(this.o.history, this.o.pageSize, newest)) {
        for (const row of page) {
          if (row.id <= this.cursor) continue;
          this.cursor = row.id;
          n++;
          await this.o.deliver(row);
        }
      }
      const meanwhile = this.overflowed ? `over ${this.o.maxBuffered ?? MAX_BUFFERED}` : String(this.bufferedRows());
      this.o.notice(`history: ${n} records up to id ${this.cursor}; following live (${meanwhile} records arrived meanwhile)`);
    } else {
      this.o.notice(`following live after id ${newest}`);
    }
    this.cursor = Math.max(this.cursor, newest);
    if (this.overflowed) {
      // Too much arrived during history to hold: the collector replays it from the cursor instead.
      this.queue = [];
      this.resumed = true;
      if (this.conn === conn) this.resubscribe(conn);
    } else {
      this.mode = 'live';
      this.drain();
    }
    this.startedResolve();
  }

  private bufferedRows(): number {
    return this.queue.reduce((n, e) => n + (e.type === 'messages' ? e.rows.length : 0), 0);
  }

  private connectOnce(): Promise<LiveConnection> {
    return LiveConnection.connect(this.o.http).catch((err: ConnectError) => {
      throw err.fatal ? err : new Error(`cannot reach the collector's live stream at ${this.o.http.base.href} (${err.message}): is \`netconsole-hub serve\` running there? (--server or NETCONSOLE_HUB_URL)`);
    });
  }

  private nextSubscribed(): Promise<void> {
    return new Promise((r) => (this.subscribedWaiter = r));
  }

  private attach(conn: LiveConnection): void {
    this.conn = conn;
    conn.onEvent = (e) => this.onEvent(e);
    conn.onClose = (why) => {
      if (this.conn === conn) this.conn = null;
      if (this.stopped) return;
      if (!this.subscribedOnce) return this.fail(new Error(`the collector closed the live stream at once (${why})`));
      void this.reconnect(why);
    };
  }

  private onEvent(e: LiveEvent): void {
    if (e.type === 'error') return this.fail(new Error(`the collector refused the live subscription: ${e.message}`));
    if (this.mode === 'waiting-subscribed') {
      // Rows of a subscription being replaced would arrive out of step with the new one.
      if (e.type !== 'subscribed') return;
      this.subscribedOnce = true;
      this.subscribedWaiter?.();
      this.subscribedWaiter = null;
      if (this.mode === 'waiting-subscribed') this.mode = this.resumed ? 'live' : 'buffering';
      return;
    }
    if (e.type === 'subscribed') return;
    if (this.mode === 'buffering' && e.type === 'messages') {
      if (this.overflowed) return;
      if (this.bufferedRows() + e.rows.length > (this.o.maxBuffered ?? MAX_BUFFERED)) {
        this.overflowed = true;
        this.queue = [];
        return;
      }
    }
    this.queue.push(e);
    if (this.mode === 'live') this.drain();
  }

  /** Delivers queued events one after another (deliver may wait for stdout). */
  private drain(): void {
    this.draining = this.draining.then(async () => {
      while (this.queue.length > 0 && !this.stopped) {
        const e = this.queue.shift()!;
        if (e.type === 'missed') {
          this.o.notice(`the collector skipped ${e.count} records${e.reason ? ` (${e.reason})` : ''}`);
        } else if (e.type === 'messages') {
          for (const row of e.rows) {
            if (row.id <= this.cursor) continue;
            this.cursor = row.id;
            await this.o.deliver(row);
          }
        }
      }
    }).catch((err: Error) => this.fail(err));
  }

  private resubscribe(conn: LiveConnection): void {
    this.resumed = true;
    this.queue = [];
    this.mode = 'waiting-subscribed';
    // Rows delivered before the new subscription's reply are older than its replay: finish them first.
    void this.draining.then(() => {
      conn.subscribe({ filters: this.o.live, since_id: this.cursor });
    });
  }

  private async reconnect(why: string): Promise<void> {
    const { firstMs, maxMs } = this.o.backoff ?? { firstMs: 500, maxMs: 10_000 };
    // A collector that keeps accepting and dropping the stream is not hammered twice a second.
    let delay = Date.now() - this.connectedAt < STABLE_MS ? Math.min(Math.max(this.lastDelay * 2, firstMs), maxMs) : firstMs;
    this.o.notice(`lost the live stream (${why}); reconnecting in ${(delay / 1000).toFixed(1)} s`);
    for (;;) {
      await new Promise((r) => setTimeout(r, delay));
      await this.started;
      await this.draining;
      if (this.stopped) return;
      try {
        const conn = await LiveConnection.connect(this.o.http);
        if (this.stopped) return conn.close();
        this.attach(conn);
        this.connectedAt = Date.now();
        this.lastDelay = delay;
        this.resubscribe(conn);
        this.o.notice(`reconnected to ${this.o.http.base.href}; resuming after id ${this.cursor}`);
        return;
      } catch (err) {
        if (err instanceof ConnectError && err.fatal) return this.fail(err);
        delay = Math.min(delay * 2, maxMs);
        this.o.notice(`still cannot reach the collector (${(err as Error).message}); retrying in ${(delay / 1000).toFixed(1)} s`);
      }
    }
  }
}
