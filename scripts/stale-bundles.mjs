// Half bundles left in dist/ by bundle builds that were stopped midway (scripts/bundle-cli.mjs
// builds into dist/bundle.<pid> and swaps it in). dist/ is in package.json's files, so npm pack
// would ship them. Removes those whose build process is gone, never a running build's.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function removeStaleBundles(dist) {
  for (const name of readdirSync(dist)) {
    const pid = Number(/^bundle\.(\d+)$/.exec(name)?.[1]);
    if (pid && !isRunning(pid)) rmSync(join(dist, name), { recursive: true, force: true });
  }
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
