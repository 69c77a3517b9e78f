// GET /api/live: the WebSocket live stream (protocol in ../live-session.ts).
import type { FastifyInstance } from 'fastify';
import type { LiveHub } from '../live.js';
import { LiveSession } from '../live-session.js';
import type { StoreQueries } from '../../receiver/store/port.js';

export function registerLiveRoute(app: FastifyInstance, queries: StoreQueries, hub: LiveHub): void {
  app.get('/api/live', { websocket: true }, (socket, request) => {
    const session = new LiveSession(socket, queries, hub);
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        socket.send(JSON.stringify({ type: 'error', message: 'send JSON text messages' }));
        return;
      }
      try {
        session.handleMessage(data.toString());
      } catch (err) {
        request.log.warn({ err }, 'live subscription failed');
        socket.send(JSON.stringify({ type: 'error', message: `subscription failed: ${(err as Error).message}` }));
      }
    });
    socket.on('close', () => session.close());
    socket.on('error', () => session.close());
  });
}
