// The HTTP side of the terminal client: GET requests to a collector's API, with every failure a
// user can act on (collector down, wrong token, a request it refused) turned into one line.
import { UsageError } from '../errors.js';
import type { MessageJson } from '../web/types.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
const REQUEST_TIMEOUT_MS = 30_000;

/** The collector's base URL from --server / NETCONSOLE_HUB_URL, with a trailing slash for joining. */
export function parseServerUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--server must be a URL like ${DEFAULT_SERVER}, not '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be an http:// or https:// URL, not '${raw}'`);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

/** Why a connection failed, in words (undici hides the errno in `cause`). */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause ?? (err as { code?: string; message?: string });
  switch (cause?.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host name not found';
    case 'ETIMEDOUT': case 'UND_ERR_CONNECT_TIMEOUT': return 'connection timed out';
    case 'ECONNRESET': case 'UND_ERR_SOCKET': return 'connection reset';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'no route to host';
    default: return cause?.code ?? cause?.message ?? String(err);
  }
}

export function unreachable(base: URL, reason: string): UsageError {
  return new UsageError(`cannot reach the collector at ${base.href} (${reason}): is \`netconsole-hub serve\` running there? (--server or NETCONSOLE_HUB_URL)`);
}

/** The one-line error for a refused token, the same for HTTP and the WebSocket. */
export function authError(base: URL, hadToken: boolean, message: string): UsageError {
  return hadToken
    ? new UsageError(`the collector at ${base.href} refused the token (401: ${message}): check --token or NETCONSOLE_HUB_TOKEN`)
    : new UsageError(`the collector at ${base.href} needs a token: pass --token or set NETCONSOLE_HUB_TOKEN`);
}

export type Params = Record<string, string | number | undefined>;

/** What /api/messages filters on (see src/web/API.md). */
export interface HistoryFilters {
  host?: string;
  boot?: number;
  boot_from?: number;
  level?: number;
  q?: string;
  since?: number;
  until?: number;
}

interface Page { messages: MessageJson[]; older: number | null; newer: number | null }

export class HubHttp {
  constructor(readonly base: URL, readonly token: string | undefined) {}

  authHeaders(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  async getJson<T>(path: string, params: Params = {}): Promise<T> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'application/json', ...this.authHeaders() }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      const name = (err as Error).name;
      throw unreachable(this.base, name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : networkReason(err));
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new UsageError(`${url.origin}${url.pathname} answered HTTP ${res.status} without JSON: is --server a netconsole-hub collector?`);
    }
    if (res.status === 401) throw authError(this.base, this.token !== undefined, errorMessage(body));
    if (res.status >= 400) throw new UsageError(`the collector refused the request (${res.status}): ${errorMessage(body)}`);
    return body as T;
  }

  /** The highest message id stored right now (0 for an empty collector). */
  async newestId(): Promise<number> {
    const page = await this.getJson<Page>('api/messages', { limit: 1 });
    return page.messages[0]?.id ?? 0;
  }

  /**
   * Matching messages oldest first, one page per request, walking the API's `after` cursor. Stops
   * after a short page, or once it has passed `upTo` (rows beyond it come from elsewhere).
   */
  async *history(filters: HistoryFilters, pageSize: number, upTo = Infinity): AsyncGenerator<MessageJson[]> {
    let after = 0;
    for (;;) {
      const page = await this.getJson<Page>('api/messages', { ...filters, after, limit: pageSize, order: 'asc' });
      if (page.messages.length > 0) yield page.messages;
      const last = page.messages[page.messages.length - 1];
      if (last === undefined || page.messages.length < pageSize || last.id >= upTo) return;
      after = last.id;
    }
  }
}

function errorMessage(body: unknown): string {
  const m = (body as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : JSON.stringify(body);
}
