// One WebSocket connection to a collector's /api/live (protocol: src/web/API.md, live-session.ts).
import { WebSocket } from 'ws';
import type { MessageJson } from '../web/types.js';
import { authError, networkReason, type HubHttp } from './http.js';

export type LiveEvent =
  | { type: 'subscribed'; since_id: number | null }
  | { type: 'messages'; rows: MessageJson[] }
  | { type: 'missed'; count: number; reason?: string }
  | { type: 'error'; message: string };

export interface LiveSubscription {
  filters: { host?: string; level?: number; text?: string };
  since_id?: number;
}

/** A failure to connect: `fatal` ones (a refused token) are not worth retrying. */
export class ConnectError extends Error {
  constructor(message: string, readonly fatal: boolean) {
    super(message);
  }
}

/** Pings this often; a connection that has not answered the previous ping is dropped. */
const HEARTBEAT_MS = 15_000;
const OPEN_TIMEOUT_MS = 15_000;

export class LiveConnection {
  onEvent: (e: LiveEvent) => void = () => {};
  /** Called once, when the connection ends for whatever reason. */
  onClose: (why: string) => void = () => {};
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;

  private constructor(private readonly ws: WebSocket) {
    let alive = true;
    ws.on('pong', () => (alive = true));
    this.heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, HEARTBEAT_MS);
    ws.on('message', (data) => {
      let msg: LiveEvent;
      try {
        msg = JSON.parse(String(data)) as LiveEvent;
      } catch {
        return;
      }
      this.onEvent(msg);
    });
    ws.on('close', (code, reason) => this.end(reason.length ? `${code}: ${reason}` : code === 1006 ? 'connection dropped' : `code ${code}`));
    ws.on('error', (err) => this.end(networkReason(err)));
  }

  static connect(http: HubHttp): Promise<LiveConnection> {
    const url = new URL('api/live', http.base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, { headers: http.authHeaders(), handshakeTimeout: OPEN_TIMEOUT_MS });
    return new Promise((resolve, reject) => {
      const fail = (e: ConnectError) => {
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(e);
      };
      ws.once('open', () => {
        ws.removeAllListeners();
        resolve(new LiveConnection(ws));
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => {
          let message = body;
          try { message = (JSON.parse(body) as { message?: string }).message ?? body; } catch { /* not JSON */ }
          if (res.statusCode === 401) fail(new ConnectError(authError(http.base, http.token !== undefined, message).message, true));
          else fail(new ConnectError(`the collector at ${http.base.href} refused the live stream (HTTP ${res.statusCode}: ${message})`, res.statusCode !== undefined && res.statusCode < 500));
        });
        res.on('error', () => fail(new ConnectError(`the live stream's answer broke off (HTTP ${res.statusCode})`, false)));
      });
      ws.once('error', (err) => fail(new ConnectError(networkReason(err), false)));
    });
  }

  subscribe(sub: LiveSubscription): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(sub));
  }

  close(): void {
    this.ws.close();
    this.end('closed');
  }

  private end(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.ws.terminate();
    this.onClose(why);
  }
}
