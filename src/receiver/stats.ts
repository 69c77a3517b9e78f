// What the running receiver counts, as /api/stats and /metrics read it on each request (owned
// here, on the receiver side; the web only reads it).
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
