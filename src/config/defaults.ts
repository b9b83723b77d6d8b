// What a fleet file's settings default to. A file of its own so that commands which only need a
// default (the data directory of `runs`, `show`, `logs`) do not load the compiler (see CORE-005,
// start-up).
export const DEFAULTS = {
  concurrency: 10,
  dataDir: '.nixfleet',
  shell: '/bin/sh',
  timeoutMs: 600_000,
  strictHostKeyChecking: 'accept-new',
  connectTimeoutMs: 10_000,
  multiplex: true,
} as const;
