// Where a command finds its fleet file and data directory (CORE-005): -f/--file, else
// $NIXFLEET_FILE, else ./fleet.yaml; --data-dir, else $NIXFLEET_DATA_DIR, else settings.dataDir.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { DEFAULTS } from '../config/compile-registry.js';
import { loadRegistry } from '../config/load.js';
import type { Registry } from '../registry/types.js';
import type { CommandContext } from './command.js';

export function fleetFilePath(ctx: CommandContext): string {
  const given = ctx.global.file ?? nonEmpty(ctx.io.env.NIXFLEET_FILE) ?? 'fleet.yaml';
  return resolve(ctx.io.cwd, given);
}

/** --data-dir, else $NIXFLEET_DATA_DIR, resolved; undefined when neither is given. */
export function dataDirOverride(ctx: CommandContext): string | undefined {
  const given = ctx.global.dataDir ?? nonEmpty(ctx.io.env.NIXFLEET_DATA_DIR);
  return given === undefined ? undefined : resolve(ctx.io.cwd, given);
}

export async function loadFleet(ctx: CommandContext): Promise<Registry> {
  const dataDir = dataDirOverride(ctx);
  return loadRegistry(fleetFilePath(ctx), { cwd: ctx.io.cwd, ...(dataDir !== undefined ? { dataDir } : {}) });
}

/**
 * The data directory without compiling the fleet: commands that only read the journal (`runs`,
 * `show`, `logs`) keep working while the fleet file is being edited into shape.
 */
export async function dataDirFor(ctx: CommandContext): Promise<string> {
  const override = dataDirOverride(ctx);
  if (override !== undefined) return override;
  const file = fleetFilePath(ctx);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return resolve(ctx.io.cwd, DEFAULTS.dataDir);
  }
  let configured: unknown;
  try {
    configured = (parse(text) as { settings?: { dataDir?: unknown } } | null)?.settings?.dataDir;
  } catch {
    configured = undefined;
  }
  const dataDir = typeof configured === 'string' && configured !== '' ? configured : DEFAULTS.dataDir;
  return resolve(dirname(file), dataDir);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
