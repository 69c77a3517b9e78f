// Worker-thread entry: owns the write connection so SQLite and FTS work never run on the thread that
// reads datagrams.
import { parentPort, workerData } from 'node:worker_threads';
import { WriteService } from './write-service.js';
import type { FromWriter, ToWriter, WriteServiceOptions } from './write-protocol.js';
import { lowerThisThreadPriority } from './thread-priority.js';

const port = parentPort;
if (!port) throw new Error('write-worker.js must run as a worker thread');

lowerThisThreadPriority();
const service = new WriteService(workerData as WriteServiceOptions, (msg: FromWriter) => port.postMessage(msg));
if (service.open()) {
  const retentionTimer = setInterval(() => service.tick(), 1000);
  port.on('message', (msg: ToWriter) => {
    service.handle(msg);
    if (msg.type === 'close') {
      clearInterval(retentionTimer);
      port.close();
    }
  });
} else {
  port.close();
}
