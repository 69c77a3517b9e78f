// Access control for the web side. With a token configured, every /api/* request (the live
// WebSocket included) and /metrics need `Authorization: Bearer <token>` or the session cookie the
// dashboard's login form gets from POST /api/login. Open without a token: /healthz (health checks),
// the dashboard's static files (they hold no data) and the login/session endpoints themselves.
//
// Comparisons are constant time on equal-length SHA-256 digests. The session cookie is stateless:
// `v1.<expiry ms>.<HMAC-SHA256(key, "v1." + expiry)>` with the key derived from the token, so a
// restart keeps sessions and changing the token ends them all.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './http-errors.js';

export const SESSION_COOKIE = 'nch_session';
/** How long a dashboard login lasts. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** Tokens shorter than this are accepted with a warning (they can be guessed). */
export const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_LENGTH = 4096;

function sha256(s: string | Buffer): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time equality of two strings of any length (compares their digests). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export class TokenAuth {
  private readonly sessionKey: Buffer;

  constructor(private readonly token: string, private readonly now: () => number = Date.now) {
    if (token === '') throw new Error('the auth token is empty');
    this.sessionKey = createHmac('sha256', token).update('netconsole-hub session key v1').digest();
  }

  checkToken(presented: string): boolean {
    return safeEqual(presented, this.token);
  }

  newSession(): { value: string; maxAgeSec: number } {
    const expires = this.now() + SESSION_TTL_MS;
    const body = `v1.${expires}`;
    return { value: `${body}.${this.mac(body)}`, maxAgeSec: Math.floor(SESSION_TTL_MS / 1000) };
  }

  checkSession(value: string): boolean {
    const m = /^(v1\.(\d{1,16}))\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    const ok = timingSafeEqual(Buffer.from(this.mac(m[1]!)), Buffer.from(m[3]!));
    return ok && Number(m[2]) > this.now();
  }

  private mac(body: string): string {
    return createHmac('sha256', this.sessionKey).update(body).digest('base64url');
  }
}

/** The value of one cookie from a Cookie header (no dependency for one cookie). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

type How = 'bearer' | 'cookie' | null;

function authenticate(auth: TokenAuth, request: FastifyRequest): { how: How; problem?: string } {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(.+?)\s*$/i.exec(header);
    if (!m) return { how: null, problem: 'the Authorization header must be "Bearer <token>"' };
    return auth.checkToken(m[1]!) ? { how: 'bearer' } : { how: null, problem: 'wrong token' };
  }
  const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
  if (cookie !== undefined) {
    return auth.checkSession(cookie) ? { how: 'cookie' } : { how: null, problem: 'the session has expired or is not valid: log in again' };
  }
  return { how: null, problem: 'this collector needs a token: send "Authorization: Bearer <token>" or log in on the dashboard' };
}

/** Paths that need the token. */
function protectedPath(url: string): boolean {
  const path = url.split('?')[0]!;
  if (path === '/api/login' || path === '/api/logout' || path === '/api/session') return false;
  return path === '/api' || path.startsWith('/api/') || path === '/metrics' || path.startsWith('/metrics/');
}

/** A browser WebSocket from another site carries no SameSite=Strict cookie, but refuse a foreign Origin anyway. */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  reply.header('WWW-Authenticate', 'Bearer realm="netconsole-hub"');
  reply.header('Cache-Control', 'no-store');
  return sendError(reply, 401, message);
}

function sessionCookie(request: FastifyRequest, value: string, maxAgeSec: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${secure}`;
}

/**
 * Installs the check (an onRequest hook: it runs before routing work, and @fastify/websocket runs
 * it before the upgrade, so a refused WebSocket gets a plain 401 and no socket) and the
 * /api/login, /api/logout and /api/session routes. With `token` undefined everything stays open
 * and /api/session says so.
 */
export function installAuth(app: FastifyInstance, token: string | undefined): void {
  const auth = token === undefined ? null : new TokenAuth(token);

  if (auth) {
    app.addHook('onRequest', async (request, reply) => {
      // The matched route decides (a percent-encoded path still routes to /api/...), and the raw
      // path too, so an unknown /api/ path is a 401 rather than a 404 that confirms it.
      const route = request.routeOptions.url;
      if (!(route !== undefined && protectedPath(route)) && !protectedPath(request.url)) return;
      const { how, problem } = authenticate(auth, request);
      if (how === null) return unauthorized(reply, problem ?? 'unauthorized');
      if (how === 'cookie' && !sameOrigin(request)) return sendError(reply, 403, 'cross-origin request refused');
    });
  }

  app.get('/api/session', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return { auth_required: auth !== null, authenticated: auth === null || authenticate(auth, request).how !== null };
  });

  app.post<{ Body: { token?: unknown } }>('/api/login', {
    schema: {
      body: {
        type: 'object',
        properties: { token: { type: 'string', minLength: 1, maxLength: MAX_TOKEN_LENGTH } },
        required: ['token'],
      },
    },
  }, async (request, reply) => {
    if (auth === null) return { ok: true, auth_required: false };
    if (!sameOrigin(request)) return sendError(reply, 403, 'cross-origin login refused');
    if (!auth.checkToken(String(request.body.token))) {
      request.log.warn({ from: request.ip }, 'dashboard login with a wrong token');
      return unauthorized(reply, 'wrong token');
    }
    const s = auth.newSession();
    reply.header('Set-Cookie', sessionCookie(request, s.value, s.maxAgeSec));
    reply.header('Cache-Control', 'no-store');
    return { ok: true, auth_required: true, expires_in: s.maxAgeSec };
  });

  app.post('/api/logout', async (request, reply) => {
    reply.header('Set-Cookie', sessionCookie(request, '', 0));
    return { ok: true };
  });
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** The warnings to print at start: listening beyond loopback without a token, or a short token. */
export function exposureWarnings(host: string, port: number, token: string | undefined): string[] {
  const out: string[] = [];
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  if (token === undefined && !isLoopback(host)) {
    out.push(`HTTP on ${where} without --auth-token: anyone who can reach it can read every log`);
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    out.push(`the auth token is only ${token.length} characters: use at least ${MIN_TOKEN_LENGTH} random ones (openssl rand -hex 32)`);
  }
  return out;
}
