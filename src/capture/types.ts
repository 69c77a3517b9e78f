/** One datagram read back from a capture file, as the receiver would have seen it. */
export interface CapturedDatagram {
  source: string;
  dstPort: number | null;
  payload: Uint8Array;
  /** Arrival time in ms since the epoch (the capture's own timestamp). */
  atMs: number;
  /** Set when the packet must not be decoded: a bad IP/UDP checksum or a malformed header. */
  problem: { kind: 'checksum_error' | 'malformed'; detail: string; packet: number } | null;
}
