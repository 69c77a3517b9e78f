// Worker-thread entry: owns the write connection so SQLite and FTS work never run on the thread that
// reads datagrams.
import { parentPort, workerData } from 'node:worker_threads';
import { WriteService } from './write-service.js';
import { ClickHouseWriteService } from './clickhouse/write-service.js';
import type { WriteSide } from './port.js';
import type { FromWriter, ToWriter, WriteServiceOptions } from './write-protocol.js';
import { lowerThisThreadPriority } from './thread-priority.js';

const port = parentPort;
if (!port) throw new Error('write-worker.js must run as a worker thread');

lowerThisThreadPriority();
const options = workerData as WriteServiceOptions;
// The port closes once the write side said 'closed' (ClickHouse's close finishes its last insert first).
const reply = (msg: FromWriter) => {
  port.postMessage(msg);
  if (msg.type === 'closed') port.close();
};
const service: WriteSide = options.store ? new ClickHouseWriteService(options, reply) : new WriteService(options, reply);
if (await service.open()) {
  const retentionTimer = setInterval(() => service.tick(), 1000);
  port.on('message', (msg: ToWriter) => {
    if (msg.type === 'close') clearInterval(retentionTimer);
    service.handle(msg);
  });
} else {
  port.close();
}
