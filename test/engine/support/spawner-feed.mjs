// Drives nixfleet's spawner (the built one in dist/) as the ssh transport does (CORE-001): stdout
// and stderr apart (`split`), and a `feed` larger than a pipe holds, to a command that reads it
// only once a later command on the same spawner has run; then a start with `stderrTo`, as for an
// ssh master. Prints what it saw as one JSON line.
// Usage: node spawner-feed.mjs <directory>; PATH chooses the spawner.
import { readFileSync, writeFileSync } from 'node:fs';

const { spawnThroughSpawner, spawnerKind } = await import(
  new URL('../../../dist/engine/transports/spawner/spawner-client.js', import.meta.url).href
);

const dir = process.argv[2];
const input = `${'x'.repeat(300_000)}é\n`;
const bytes = Buffer.byteLength(input);

function run(script, fed) {
  return new Promise((resolve) => {
    const seen = { out: '', err: '', code: undefined };
    const command = spawnThroughSpawner(
      '/bin/sh',
      ['-c', script],
      { cwd: dir, env: {}, split: fed !== undefined },
      {
        spawned: () => (fed === undefined ? command.go() : command.feed(fed)),
        failed: (cause) => resolve({ failed: cause.message }),
        output: (chunk, stderr) => {
          seen[stderr ? 'err' : 'out'] += chunk.toString('latin1');
        },
        exit: (code) => {
          seen.code = code;
          if (fed !== undefined) command.cancel();
        },
        end: () => resolve(seen),
      },
    );
  });
}

// Commands alternate between the spawners (at most two): the first and the third share one. Had
// that spawner waited to write all of the first one's input, the third would never start, and the
// first would wait for it for ever.
const results = await Promise.all([
  run(`while [ ! -e go ]; do sleep 0.05; done; echo reading >&2; head -c ${bytes} | wc -c`, input),
  run('true'),
  // Behind its start gate, as a local command is (CORE-011): `go` follows the first one's `feed`.
  run('read -r _; touch go; echo touched'),
]);

// `stderrTo`: no pipes. `cat` reads /dev/null (a pipe left open would keep it waiting), stdout goes
// to /dev/null, stderr is appended to the log, which no other descriptor holds, and the
// background `sleep`, which holds both as an ssh master does, keeps nothing open: `end` follows
// `exit` without waiting for it.
const log = `${dir}/master.log`;
writeFileSync(log, 'before\n');
const detached = await new Promise((resolve) => {
  const seen = { out: '', code: undefined };
  spawnThroughSpawner(
    '/bin/sh',
    [
      '-c',
      'echo out; echo err >&2; cat; echo "read $?" >&2; echo "0 $(readlink /proc/$$/fd/0), 1 $(readlink /proc/$$/fd/1), log open $(ls -l /proc/$$/fd | grep -c master.log)" >&2; sleep 300 & echo $! > bg.pid',
    ],
    { cwd: dir, env: {}, stderrTo: log },
    {
      spawned: () => {},
      failed: (cause) => resolve({ failed: cause.message }),
      output: (chunk) => {
        seen.out += chunk.toString('latin1');
      },
      exit: (code) => {
        seen.code = code;
      },
      end: () => resolve(seen),
    },
  );
});
process.kill(Number(readFileSync(`${dir}/bg.pid`, 'utf8')), 'SIGKILL');
detached.log = readFileSync(log, 'utf8');
console.log(JSON.stringify({ kind: spawnerKind(), bytes, results, detached }));
