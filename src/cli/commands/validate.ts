// `nixfleet validate`: schema and semantic checks, every error with file:line:col (CORE-005).

import { displayPathFor } from '../../config/path-format.js';
import { plural } from '../../domain/plural.js';
import { ConfigErrors } from '../../errors/config-error.js';
import { EXIT } from '../../errors/user-error.js';
import type { CommandContext } from '../command.js';
import { loadFleet } from '../load-fleet.js';

export const usage = 'validate';
export const options = {};
export const maxPositionals = 0;

export async function run(ctx: CommandContext): Promise<number> {
  try {
    const registry = await loadFleet(ctx);
    const counts = {
      hosts: registry.hosts.size,
      ops: registry.ops.size,
      pipelines: registry.pipelines.size,
    };
    if (ctx.global.json) {
      ctx.io.stdout.write(`${JSON.stringify({ valid: true, errors: [], files: registry.files, ...counts })}\n`);
    } else {
      const includes = registry.files.length > 1 ? ` and ${registry.files.length - 1} included file(s)` : '';
      ctx.io.stdout.write(
        `${displayPathFor(registry.file, ctx.io.cwd)}${includes}: valid (${plural(counts.hosts, 'host')}, ${plural(counts.ops, 'op')}, ${plural(counts.pipelines, 'pipeline')})\n`,
      );
    }
    return EXIT.OK;
  } catch (error) {
    if (!(error instanceof ConfigErrors) || !ctx.global.json) throw error;
    ctx.io.stdout.write(`${JSON.stringify({ valid: false, errors: error.errors })}\n`);
    return EXIT.USAGE;
  }
}
