// Turns failures of raw sockets into one-line errors a user can act on.

export const RAW_CAPABILITY_HINT =
  'raw sockets need CAP_NET_RAW: run as root, or grant it with `setpriv --ambient-caps +net_raw` / systemd `AmbientCapabilities=CAP_NET_RAW`';

/** A raw-socket failure with a one-line message; `code` is EPERM/EACCES for missing privilege. */
export class RawSocketError extends Error {
  override name = 'RawSocketError';
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** True when `err` means the process lacks the privilege to open a raw socket. */
export function isPermissionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return code === 'EPERM' || code === 'EACCES' || /operation not permitted|permission denied/i.test(msg);
}

/** The error to show for a failure while opening or using a raw socket (`what`: "open IPv4 raw socket"). */
export function describeRawSocketError(err: unknown, what: string): RawSocketError {
  if (err instanceof RawSocketError) return err;
  if (isPermissionError(err)) return new RawSocketError(RAW_CAPABILITY_HINT, 'EPERM');
  const msg = err instanceof Error ? err.message : String(err);
  return new RawSocketError(`cannot ${what}: ${msg.split('\n')[0]}`);
}
