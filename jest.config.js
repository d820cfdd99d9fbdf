/** Jest runs the TypeScript sources as native ES modules, compiled by SWC. */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
      },
    ],
  },
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
  testTimeout: 30000,
  // Five on the 2-core machine: the fault tests spend most of their time waiting (for a heartbeat
  // to go stale, a process to start, a rate limit, PostgreSQL to restart), and the other workers
  // keep both cores busy meanwhile. Back to back on one machine (1 December 2026, machine's
  // PostgreSQL): three workers 168-173 s, four 166 s, five 155 s, six 157 s (the cores saturated);
  // embedded PostgreSQL: three 172 s, five 164 s. (On the slower machines of earlier sessions,
  // four were slower than three: there the cores, not the waits, were the limit.)
  maxWorkers: 5,
  // Every test file loads the app afresh and some of each file's modules stay referenced (process
  // listeners, timers of libraries), so a worker's heap grows by 50-90 MB a file. A worker past
  // this is replaced between files: less time in garbage collection, and a small process to end.
  workerIdleMemoryLimit: '512MB',
  // Checked with the worker instrumented: told to end, a worker held only its IPC and stdio pipes
  // (and, where its exit was timed, left within a millisecond), yet jest's 500 ms for ending was
  // missed in 6 of 7 full runs on the busy 2-core machine ("failed to exit gracefully"). A handle
  // truly left open still shows after 2 s.
  workerGracefulExitTimeout: 2000,
};
