// Shapes the web side shares with the receiver (`serve`) and the dashboard.

/** One stored kernel log record as the API and the live stream show it. */
export interface MessageJson {
  /** Arrival order; the API's pagination cursor and the live stream's `since_id`. */
  id: number;
  /** Display name of the sending machine (host-name map / reverse DNS) or its address. */
  host: string;
  /** Sender `ip:port` (one per netconsole target). */
  source: string;
  /** Boot number within the host, counting from 1. */
  boot: number;
  seq: number | null;
  level: number | null;
  facility: number | null;
  ts_usec: number | null;
  /** Wall clock of arrival, milliseconds since the epoch. */
  received_at: number;
  text: string;
  fields: Record<string, string>;
  complete: boolean;
}

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
