// Plain UDP listeners (node dgram), IPv4 and IPv6. The kernel has already checked UDP checksums
// here (bad ones never reach us, spec §6.9); raw capture is the mode that sees them. Datagrams of
// any size UDP allows (up to 64 KiB) are accepted: netconsole sends at most 1000 bytes, other
// senders more, and the core treats them alike.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import { formatEndpoint, type Endpoint } from './endpoint.js';

/** 8 MiB: a burst of a few thousand datagrams (a panic, a boot replay) must fit while we are busy. */
export const WANTED_RECEIVE_BUFFER = 8 * 1024 * 1024;

export interface UdpListener {
  endpoint: Endpoint;
  /** Receive buffer the kernel granted (Linux reports twice the usable size). */
  receiveBuffer: number;
  close(): Promise<void>;
}

export type DatagramHandler = (msg: Buffer, address: string, port: number) => void;

export function listenUdp(ep: Endpoint, onDatagram: DatagramHandler, onError: (err: Error) => void): Promise<UdpListener> {
  const v6 = isIPv6(ep.host);
  const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: WANTED_RECEIVE_BUFFER });
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => {
      sock.close();
      const where = formatEndpoint(ep);
      if (err.code === 'EADDRINUSE') reject(new UsageError(`UDP ${where} is already in use: stop the other receiver or pick another port with --udp HOST:PORT`));
      else if (err.code === 'EACCES') reject(new UsageError(`UDP ${where}: permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT') reject(new UsageError(`UDP ${where}: address not available on this machine (${err.code})`));
      else reject(new UsageError(`UDP ${where}: ${err.message}`));
    };
    sock.once('error', fail);
    sock.bind(ep.port, ep.host, () => {
      sock.off('error', fail);
      sock.on('error', onError);
      sock.on('message', (msg, rinfo) => onDatagram(msg, rinfo.address, rinfo.port));
      let receiveBuffer = 0;
      try { sock.setRecvBufferSize(WANTED_RECEIVE_BUFFER); } catch { /* capped by net.core.rmem_max; report what we got */ }
      try { receiveBuffer = sock.getRecvBufferSize(); } catch { /* unknown */ }
      const addr = sock.address();
      resolve({
        endpoint: { host: ep.host, port: addr.port },
        receiveBuffer,
        close: () => new Promise<void>((res) => sock.close(() => res())),
      });
    });
  });
}
