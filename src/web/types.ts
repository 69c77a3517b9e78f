// Shapes the web side shares with the receiver (`serve`) and the dashboard.
import type { StoredMessage } from '../receiver/store/types.js';

/** One stored kernel log record as the API and the live stream show it: exactly what the writer stores. */
export type MessageJson = StoredMessage;

import type { ReceiverStats } from '../receiver/stats.js';

export type { ReceiverStats };

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
