import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The parent's handle on the SMTP sink process (smtp-sink.process.ts). */
export interface SinkProcess {
  url: string;
  /** Messages received since the sink started. */
  count(): Promise<number>;
  /** Resolves once the sink has received `total` messages since it started. */
  until(total: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSinkProcess(): Promise<SinkProcess> {
  const child = fork(fileURLToPath(new URL('./smtp-sink.process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: Record<string, T>) => {
        if (!(key in m)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m[key]!);
      };
      const onExit = (code: number | null) => reject(new Error(`the SMTP sink exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const port = await next<number>('port');
  return {
    url: `smtp://127.0.0.1:${port}`,
    count() {
      const answer = next<number>('count');
      child.send({ count: true });
      return answer;
    },
    async until(total) {
      const answer = next<number>('reached');
      child.send({ until: total });
      await answer;
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.disconnect();
      await exited;
    },
  };
}
