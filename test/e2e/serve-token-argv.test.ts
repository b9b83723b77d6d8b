// CORE-004, Access: the dashboard's token guards every change to the fleet, and a server bound to
// loopback is still reachable by every user of the machine, who can also read every process's
// command line (`ps`, /proc/PID/cmdline). A token given with `--token` stayed there for as long as
// serve ran; serve now rewrites its command line without it as soon as it has read it.
import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { makeTempDir } from '../support/cli.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';

const TOKEN = 'flag-token-5f0c2a9e1b7d4c3a';
let serve: ServeProcess | undefined;
afterEach(async () => {
  await serve?.stop('SIGKILL');
  serve = undefined;
});

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');

it.each([
  ['--token T', ['--token', TOKEN]],
  ['--token=T', [`--token=${TOKEN}`]],
])(
  'a token given as `%s` is not on the command line while serve runs, and still opens the API',
  async (_form, args) => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  h1: {}\nops:\n  o: { run: "true" }\n' });
    serve = await startServe(dir, args);
    expect(serve.token).toBe(TOKEN);
    const pid = serve.child.pid as number;
    const line = cmdline(pid);
    expect(line).not.toContain(TOKEN);
    // The rest of it stays, so the process is still recognisable in `ps`.
    expect(line).toContain('nixfleet.js --json serve');
    const state = await fetch(new URL('api/state', serve.baseUrl), { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(state.status).toBe(200);
  },
);
