// The dashboard's view of the HTTP API (same shapes as src/web/types.ts).
import { sessionExpired } from './login.js';
import type { StoredMessage } from '../../receiver/store/types.js';

/** A stored message as the API returns it (the server's own type; esbuild drops type-only imports). */
export type Message = StoredMessage & {
  /** The extended header's flags (`c`: continuation), when the API sends them. */
  flags?: string;
  /** The kernel cut the record short, when the API sends it. */
  truncated?: boolean;
  fragmented?: boolean;
};

export interface MessagePage {
  messages: Message[];
  older: number | null;
  newer: number | null;
}

export interface HostSummary {
  host: string;
  address: string;
  name: string | null;
  first_seen: number;
  last_seen: number;
  messages: number;
  current_boot: number | null;
  rebooted: boolean;
  boots: { boot: number; started_at: number; reason: string; release: string | null; messages: number; lost_records: number }[];
  gaps: number;
  lost_records: number;
  checksum_errors: number;
  bad_packets: number;
  sources: { address: string; format: string; last_seen: number }[];
}

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v));
  const url = qs.size ? `${path}?${qs}` : path;
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as { message?: string };
  if (res.status === 401) sessionExpired(body.message ?? 'log in again');
  if (!res.ok) throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  return body as T;
}

export function liveUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live`;
}
