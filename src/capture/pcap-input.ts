// pcap/pcapng captures (e.g. tcpdump during an outage) as datagrams: the IP and UDP checksums are
// verified here, since the capture saw the packets before any kernel dropped the bad ones.
import { UsageError } from '../errors.js';
import { formatEndpoint, parseFrame } from '../netconsole/packet.js';
import { PcapFormatError, readCapture } from '../netconsole/pcap.js';
import type { CapturedDatagram } from './types.js';

export function isPcap(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const be = (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) >>> 0;
  const le = (b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]) >>> 0;
  return be === 0x0a0d0d0a || [0xa1b2c3d4, 0xa1b23c4d].includes(be) || [0xa1b2c3d4, 0xa1b23c4d].includes(le);
}

export function* readPcapCapture(bytes: Uint8Array, name: string): Generator<CapturedDatagram> {
  let n = 0;
  try {
    for (const pkt of readCapture(bytes)) {
      n++;
      const p = parseFrame(pkt.data, pkt.linkType);
      if (p.kind === 'other') continue; // ARP, TCP, … : not ours
      if (p.kind === 'malformed') {
        yield { source: '?', dstPort: null, payload: new Uint8Array(0), atMs: pkt.tsMs, problem: { kind: 'malformed', detail: p.reason, packet: n } };
        continue;
      }
      const source = formatEndpoint(p.src, p.srcPort);
      const problem = p.checksumOk
        ? null
        : { kind: 'checksum_error' as const, detail: `ip checksum ${p.ipChecksum ?? 'n/a'}, udp checksum ${p.udpChecksum}`, packet: n };
      yield { source, dstPort: p.dstPort, payload: p.payload, atMs: pkt.tsMs, problem };
    }
  } catch (err) {
    if (err instanceof PcapFormatError) throw new UsageError(`${name}: ${err.message}`);
    throw err;
  }
}
