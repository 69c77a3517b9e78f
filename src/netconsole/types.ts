// Shared vocabulary of the protocol core. Pure data: no I/O anywhere in src/netconsole.
// Times are milliseconds (wall clock or monotonic, the caller decides) passed in as `now`.

/** Extended datagram header, `[release,]pri,seq,ts_usec,flag[,key=value…][,ncfrag=off/total]`. */
export interface ExtendedHeader {
  release: string | null;
  pri: number;
  seq: number;
  tsUsec: number;
  flag: string;
  /** Header fields after the flag other than ncfrag (caller=…, unknown future keys), in order. */
  fields: Record<string, string>;
  frag: { off: number; total: number } | null;
}

export type ParsedDatagram =
  | {
      kind: 'extended';
      header: ExtendedHeader;
      /** Header text before `,ncfrag=`: identifies the record a fragment belongs to ('' when not a fragment). */
      recordKey: string;
      /** Everything after the first `;`, trailing NULs stripped. Still escaped. */
      data: Uint8Array;
    }
  | { kind: 'legacy'; data: Uint8Array };

export type Format = 'extended' | 'legacy';

/** One kernel log record as the receiver reconstructs it. */
export interface LogRecord {
  /** Sender address and port, `ip:port` (IPv6 as `[addr]:port`). */
  source: string;
  format: Format;
  seq: number | null;
  /** syslog PRI ((facility << 3) | level) or null when unknown (legacy without `<N>`). */
  pri: number | null;
  level: number | null;
  facility: number | null;
  tsUsec: number | null;
  /** Extended flag (`-`, `c`, …); '' for legacy. */
  flags: string;
  /** Unescaped text; UTF-8, bytes that are not valid UTF-8 kept as `\xHH`. */
  text: string;
  /** Dictionary (SUBSYSTEM, DEVICE), userdata, sysdata (cpu, taskname, release, msgid), caller. */
  fields: Record<string, string>;
  /** Release string from the extended prefix or the `release` sysdata line. */
  release: string | null;
  /** False for a partial record (fragments missing at timeout, a line cut off at flush). */
  complete: boolean;
  /** The kernel cut the record at its 2048-byte printk buffer (>= 6.3): `text` is its beginning. Absent: false. */
  /** Reassembled from `ncfrag` pieces (the kernel sent the record in several datagrams). */
  fragmented?: boolean;
  truncated?: boolean;
  /** `now` of the datagram that completed (or started) the record. */
  receivedAt: number;
  /**
   * The seq is not above the highest this source sent (or fills a hole): a replay of the same
   * boot, a second copy, or a new boot. Whoever keeps the records judges it against the one
   * already kept for that seq (same ts and text: a duplicate), never the core on a guess.
   */
  recheck?: boolean;
}

export type SeqEventType = 'gap' | 'duplicate' | 'reorder' | 'reboot';

/** Something the sequence tracker noticed about a source's record numbers. */
export interface SeqEvent {
  type: SeqEventType;
  source: string;
  at: number;
  /** gap: first and last missing seq (inclusive). duplicate/reorder: the seq concerned (from = to). */
  from: number | null;
  to: number | null;
  /** reboot: the last seq of the old boot and the first seq of the new one (in `to`). */
  detail?: string;
}

/** Receives what the core produces. */
export interface Sink {
  record(r: LogRecord): void;
  event(e: SeqEvent): void;
}

/** Counters the core keeps; every bound that drops or evicts is counted here. */
export interface CoreCounters {
  datagrams: number;
  bytes: number;
  extended: number;
  legacy: number;
  fragments: number;
  badFragments: number;
  /** badFragments by reason: `total` 0 or above the limit / a range outside its record. */
  badFragmentsTotalOutOfRange: number;
  badFragmentsOverrun: number;
  reassemblyTimeouts: number;
  fragmentEvictions: number;
  sourceEvictions: number;
  legacyTimeouts: number;
}
