// Shapes the web side shares with the receiver (`serve`) and the dashboard.
import type { StoredMessage } from '../receiver/store/types.js';

/** One stored kernel log record as the API and the live stream show it: exactly what the writer stores. */
export type MessageJson = StoredMessage;

/** Runtime counters of the running receiver, read by /api/stats and /metrics on each request. */
export interface ReceiverStats {
  datagrams: number;
  bytes: number;
  bad_packets: number;
  checksum_errors: number;
  /** What a bound refused, by reason (e.g. queue_full, oversize, not_allowed). */
  dropped: Record<string, number>;
  /** Records waiting for the storage writer. */
  queue_depth: number;
  reassembly_timeouts: number;
  /** Records produced by the pipeline (stored or queued). */
  records: number;
  /** Gap events (lost record ranges) seen by the sequence tracker. */
  gaps: number;
  /** Sources currently tracked. */
  sources: number;
  /** Receive buffer the kernel granted per UDP socket (0 when unknown). */
  udp_receive_buffer_bytes: number;
  [extra: string]: number | Record<string, number>;
}

export interface HealthReport {
  ok: boolean;
  problems: string[];
}

/** Stats used when the web server runs without a receiver (tests, a read-only dashboard). */
export function emptyReceiverStats(): ReceiverStats {
  return {
    datagrams: 0,
    bytes: 0,
    bad_packets: 0,
    checksum_errors: 0,
    dropped: {},
    queue_depth: 0,
    reassembly_timeouts: 0,
    records: 0,
    gaps: 0,
    sources: 0,
    udp_receive_buffer_bytes: 0,
  };
}
