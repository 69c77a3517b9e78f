// How datagrams leave the sender. A transport never throws on a failed send: the caller counts
// the rejection and carries on (no route, ENOBUFS, … are not fatal, as in the kernel).

/** Where one datagram goes and where it claims to come from. */
export interface Route {
  host: string;
  port: number;
  family: 4 | 6;
  srcPort: number;
  srcIp?: string;
  /** Distinguishes sources that share an ephemeral source port (0): one socket per slot. */
  slot?: number;
}

export interface Transport {
  /** Resolves when the datagram was handed to the kernel; rejects with the send error. */
  send(payload: Buffer, route: Route): Promise<void>;
  close(): Promise<void>;
  /** The `ip:port` the route's datagrams leave from, once known. */
  sourceAddress?(route: Route): string | undefined;
}

/** Send errors by code (EHOSTUNREACH, ENOBUFS, …). */
export class SendErrorCounter {
  total = 0;
  readonly byCode: Record<string, number> = {};
  add(err: unknown): void {
    this.total++;
    const code = (err as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
  }
}
