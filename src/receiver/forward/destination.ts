// What the TCP and UDP destinations share: the bounded queue of stored rows, the counters, the
// reconnect backoff and the log lines. push() only appends and lets the transport write what its
// socket takes now, so the store never waits on a destination: a slow or absent receiver fills
// the queue, and beyond its bound the oldest waiting record is dropped and counted.
import type { Logger } from 'pino';
import type { StoredMessage } from '../store/types.js';
import { formatRfc5424, type Formatted } from './rfc5424.js';
import type { ForwardTarget, Transport } from './target.js';

export type ForwardDropReason = 'queue_full' | 'disconnected' | 'send_error' | 'closed';

export interface DestinationStats {
  url: string;
  transport: Transport;
  /** TCP: a connection is up. UDP: the socket is set up (UDP cannot tell whether anyone listens). */
  connected: boolean;
  /** Records handed to the kernel. */
  sent: number;
  /** Records waiting or being written. */
  queue_depth: number;
  /** Records sent shortened to the size limit. */
  truncated: number;
  /** Connections made after the first. */
  reconnects: number;
  dropped: Record<ForwardDropReason, number>;
}

export interface DestinationOptions {
  logger: Logger;
  /** First reconnect delay, doubled per failed attempt up to maxDelayMs (jittered). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** A connection up this long resets the reconnect backoff. */
const STABLE_MS = 10_000;

export abstract class Destination {
  protected readonly log: Logger;
  protected connected = false;
  protected closing = false;
  protected sent = 0;
  protected inflight = 0;
  protected truncated = 0;
  protected reconnects = 0;
  protected readonly dropped: Record<ForwardDropReason, number> = { queue_full: 0, disconnected: 0, send_error: 0, closed: 0 };
  private queue: StoredMessage[] = [];
  private head = 0;
  private attempts = 0;
  private everConnected = false;
  private connectedAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Drops since the last "queue full" line (one line per episode, not per record). */
  private droppedThisEpisode = 0;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(readonly target: ForwardTarget, opts: DestinationOptions) {
    this.log = opts.logger;
    this.baseDelayMs = opts.baseDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
  }

  /** Starts connecting (or setting the socket up). */
  abstract start(): void;
  /** Writes waiting records while the socket takes them. */
  protected abstract pump(): void;
  /** Closes the socket; resolves once it is closed. */
  protected abstract shutdown(): Promise<void>;

  push(rows: readonly StoredMessage[]): void {
    if (this.closing) { this.dropped.closed += rows.length; return; }
    for (const r of rows) this.queue.push(r);
    this.pump();
    const over = this.waiting() - this.target.maxQueue;
    if (over > 0) {
      this.head += over;
      this.dropped.queue_full += over;
      if (this.droppedThisEpisode === 0) this.log.warn({ forward: this.target.url, queue: this.target.maxQueue }, `forward ${this.target.url}: queue full (${this.target.maxQueue} records), dropping the oldest; counted in forward.dropped.queue_full`);
      this.droppedThisEpisode += over;
    }
    this.compact();
  }

  stats(): DestinationStats {
    return {
      url: this.target.url, transport: this.target.transport, connected: this.connected, sent: this.sent,
      queue_depth: this.waiting() + this.inflight, truncated: this.truncated, reconnects: this.reconnects, dropped: { ...this.dropped },
    };
  }

  /** Waits up to graceMs for the queue to drain, then drops (and counts) what is left and closes. */
  async close(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.waiting() + this.inflight > 0 && this.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.dropped.closed += this.waiting();
    this.queue = [];
    this.head = 0;
    await this.shutdown();
  }

  protected waiting(): number {
    return this.queue.length - this.head;
  }

  /** The oldest waiting record, taken off the queue (undefined when none waits). */
  protected next(): StoredMessage | undefined {
    if (this.head === this.queue.length) return undefined;
    const row = this.queue[this.head++]!;
    if (this.head === this.queue.length) this.caughtUp();
    return row;
  }

  /** A record's message under this destination's settings (truncation counted). */
  protected format(row: StoredMessage): Formatted {
    const f = formatRfc5424(row, { bom: this.target.bom, maxBytes: this.target.maxBytes });
    if (f.truncated) this.truncated++;
    return f;
  }

  private caughtUp(): void {
    this.compact();
    if (this.droppedThisEpisode > 0) {
      this.log.info({ forward: this.target.url, dropped: this.droppedThisEpisode }, `forward ${this.target.url}: caught up; ${this.droppedThisEpisode} records were dropped (queue full) meanwhile`);
      this.droppedThisEpisode = 0;
    }
  }

  private compact(): void {
    if (this.head === this.queue.length) { this.queue = []; this.head = 0; }
    else if (this.head > 4096 && this.head * 2 > this.queue.length) { this.queue = this.queue.slice(this.head); this.head = 0; }
  }

  protected onConnected(): void {
    if (this.everConnected) {
      this.reconnects++;
      this.log.info({ forward: this.target.url, dropped: this.dropped, waiting: this.waiting() }, `forward ${this.target.url}: connected again`);
    } else {
      this.log.info({ forward: this.target.url }, `forwarding to ${this.target.url}`);
    }
    this.connected = true;
    this.everConnected = true;
    this.connectedAt = Date.now();
    this.pump();
  }

  /** The connection is gone (or never came): try again after a backoff. Logged when a connection is lost and at an outage's first failed attempt, not at every attempt. */
  protected onDisconnected(why: string): void {
    const wasConnected = this.connected;
    this.connected = false;
    if (this.closing) return;
    // The backoff starts again only after a connection that held: one the receiver closes at once
    // (refusing us) is retried ever more slowly, like a refused connect.
    if (wasConnected && Date.now() - this.connectedAt >= STABLE_MS) this.attempts = 0;
    if (wasConnected) this.log.warn({ forward: this.target.url, reason: why }, `forward ${this.target.url}: connection lost (${why}); records wait in the queue (at most ${this.target.maxQueue}) while it reconnects`);
    else if (this.attempts === 0) this.log.warn({ forward: this.target.url, reason: why }, `forward ${this.target.url}: cannot connect (${why}); retrying with backoff, records wait in the queue (at most ${this.target.maxQueue})`);
    const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(this.attempts, 20));
    this.attempts++;
    this.retryTimer = setTimeout(() => { this.retryTimer = null; if (!this.closing) this.start(); }, backoff * (0.5 + Math.random() * 0.5));
    this.retryTimer.unref();
  }
}

export function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}
