/**
 * A local SMTP sink in a process of its own (as a real server would be), so that it does not
 * share the measured process's event loop. It tells its parent its port, then, whenever asked,
 * says when `n` more messages have arrived.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

let received = 0;
let want: { n: number } | undefined;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received++;
      callback();
      if (want && received >= want.n) {
        want = undefined;
        process.send!({ reached: received });
      }
    });
  },
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as AddressInfo).port }));
process.on('message', (m: { until?: number; count?: true }) => {
  if (m.count) process.send!({ count: received });
  if (m.until !== undefined) {
    if (received >= m.until) process.send!({ reached: received });
    else want = { n: m.until };
  }
});
process.on('disconnect', () => server.close(() => process.exit(0)));
