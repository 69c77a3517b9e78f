// `HOST:PORT` / `[v6]:PORT` parsing for flags, and the `ip:port` source naming used everywhere.
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

export interface Endpoint { host: string; port: number }

export function parseEndpoint(text: string, what: string): Endpoint {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]*):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`${what} '${text}' is not HOST:PORT (IPv6 as [::]:PORT)`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${what} '${text}': port must be 0..65535`);
  const host = m[1] === '' ? '0.0.0.0' : m[1];
  if (host !== 'localhost' && isIP(host) === 0) throw new UsageError(`${what} '${text}': '${host}' is not an IP address`);
  return { host, port };
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** A sender's identity as the core keys it: `ip:port`, IPv6 bracketed, IPv4-mapped IPv6 unwrapped. */
export function sourceName(address: string, port: number): string {
  if (address.startsWith('::ffff:') && address.indexOf('.') > 0) return `${address.slice(7)}:${port}`;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
