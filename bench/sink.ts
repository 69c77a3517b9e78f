// The ceiling: a do-nothing dgram receiver that only counts, with the collector's receive buffer
// (8 MiB asked). Forked by run.ts:
//   start-up                 -> {type:'listening', port, receiveBuffer}
//   {type:'count'}           -> {type:'count', datagrams, bytes}
//   {type:'exit'}
import dgram from 'node:dgram';

const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
let datagrams = 0;
let bytes = 0;
sock.on('message', (msg) => {
  datagrams++;
  bytes += msg.length;
});
sock.bind(0, '127.0.0.1', () => {
  let receiveBuffer = 0;
  try { receiveBuffer = sock.getRecvBufferSize(); } catch { /* unknown */ }
  process.send!({ type: 'listening', port: sock.address().port, receiveBuffer });
});
process.on('message', (m: any) => {
  if (m.type === 'count') process.send!({ type: 'count', datagrams, bytes });
  else if (m.type === 'exit') { sock.close(); process.disconnect(); }
});
process.on('disconnect', () => process.exit(0));
