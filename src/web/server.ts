// The web server `serve` starts: JSON API, live WebSocket, metrics and the dashboard.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { Logger } from 'pino';
import { exposureWarnings, installAuth } from './auth.js';
import { installErrorHandlers, sendError } from './http-errors.js';
import { registerIncidentRoutes } from './incidents-routes.js';
import type { LiveHub } from './live.js';
import type { StoreQueries } from '../receiver/store/port.js';
import { installSecurityHeaders } from './security.js';
import { registerHostRoutes } from './routes/hosts.js';
import { registerLiveRoute } from './routes/live.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerStatusRoutes } from './routes/status.js';
import { registerSetupRoute, type UdpListenerInfo } from './routes/setup.js';
import type { HealthReport, ReceiverStats } from './types.js';

export type { ReceiverStats, HealthReport, MessageJson } from './types.js';
export { LiveHub } from './live.js';

export interface WebOptions {
  /** HTTP bind, default 127.0.0.1:8080. */
  host: string;
  port: number;
  /** The store to read (the read port; serve opens the adapter). The web server closes it when it closes. */
  store: StoreQueries;
  /** `serve` calls live.publish(rows) after each stored batch and live.publishIncident(incident). */
  live: LiveHub;
  stats: () => ReceiverStats;
  health: () => HealthReport;
  logger?: Logger;
  /** Where the built dashboard is (default: dist/public next to this module). */
  publicDir?: string;
  /**
   * With a token, every /api/* request, the live WebSocket and /metrics need
   * `Authorization: Bearer <token>` or the dashboard's session cookie (see auth.ts).
   */
  authToken?: string;
  /** The collector's UDP listeners, for the dashboard's set-up instructions (none without a receiver). */
  udp?: () => UdpListenerInfo[];
}

export interface WebServer {
  /** `http://host:port` actually bound (port 0 gets a free one). */
  address: string;
  close(): Promise<void>;
}

const MAX_WS_MESSAGE = 64 * 1024;

function defaultPublicDir(): string {
  // dist/src/web/server.js -> dist/public
  return fileURLToPath(new URL('../../public/', import.meta.url));
}

export async function buildWebApp(opts: WebOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // Kernel lines are short; nothing the API accepts needs a large body.
    bodyLimit: 64 * 1024,
    // One log line per HTTP request would drown the collector's own notable events.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  const queries = opts.store;
  installSecurityHeaders(app);
  installErrorHandlers(app);
  await app.register(fastifyWebsocket, { options: { maxPayload: MAX_WS_MESSAGE } });
  // After the WebSocket plugin: its onRequest hook marks upgrade requests first, so a refused
  // upgrade's socket is closed after the 401 (otherwise it would linger and hold up close()).
  installAuth(app, opts.authToken);
  registerMessageRoutes(app, queries);
  registerHostRoutes(app, queries);
  registerStatusRoutes(app, queries, opts.stats, opts.health, opts.live);
  registerLiveRoute(app, queries, opts.live);
  registerIncidentRoutes(app, queries);
  registerSetupRoute(app, opts.udp ?? (() => []));
  const publicDir = opts.publicDir ?? defaultPublicDir();
  if (existsSync(publicDir)) {
    await app.register(fastifyStatic, { root: publicDir, index: ['index.html'], wildcard: true });
  } else {
    app.get('/', async (_request, reply) => sendError(reply, 503, `dashboard not built (no ${publicDir}); run npm run build`));
  }
  return app;
}

export async function startWebServer(opts: WebOptions): Promise<WebServer> {
  let app: FastifyInstance;
  try {
    app = await buildWebApp(opts);
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await opts.store.close();
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`web server could not listen on ${opts.host}:${opts.port}: ${e.message}`), { code: e.code });
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  for (const warning of exposureWarnings(opts.host, port, opts.authToken)) {
    if (opts.logger) opts.logger.warn(warning);
    else process.stderr.write(`warning: ${warning}\n`);
  }
  return {
    address: `http://${host}:${port}`,
    async close() {
      // Live sockets would keep the server open; close them first.
      for (const client of app.websocketServer?.clients ?? []) client.terminate();
      await app.close();
      await opts.store.close();
    },
  };
}
