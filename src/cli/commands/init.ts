// `nixfleet init [DIR]`: writes a commented starter fleet.yaml; never overwrites one.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_PATH } from '../../config/schema.js';
import { nixfleetCommand } from '../../domain/nixfleet-command.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { makeDirectory } from '../../store/make-directory.js';
import type { CommandContext } from '../command.js';
import { looksLikeFleetFile } from '../fleet-file-argument.js';

export const usage = 'init [DIR]';
export const options = {};
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const dir = resolve(ctx.io.cwd, ctx.positionals[0] ?? '.');
  const file = join(dir, 'fleet.yaml');
  // `nixfleet init prod.yaml` made a directory of that name with a fleet.yaml in it. (A file that
  // exists is refused below, as any file is; a directory of that name is used.)
  if (looksLikeFleetFile(dir) && !existsSync(dir)) {
    throw new UserError(`${dir} looks like a file name: init writes fleet.yaml into a directory`, {
      hint: 'pass the directory to write fleet.yaml into (`nixfleet init` alone uses this one); rename the file afterwards if you like, and give it to the other commands with -f',
    });
  }
  try {
    // Level by level: Node's recursive mkdir never returns under /proc (see CORE-003, errors).
    makeDirectory(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // Thrown once its parents exist: the file system refuses new directories (/proc).
      throw new UserError(`cannot create the directory ${dir}: its file system does not allow it`, {
        hint: 'pass a directory on a file system you can write to',
      });
    }
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      // `nixfleet init fleet.yaml`: DIR is where fleet.yaml goes, not the file.
      throw new UserError(`${dir} is a file, not a directory`, {
        hint: 'pass the directory to write fleet.yaml into (`nixfleet init` alone uses this one)',
      });
    }
    throw new UserError(`cannot create the directory ${dir}: ${code ?? error}`, {
      hint: 'pass a directory that does not exist or is a directory',
    });
  }
  try {
    // 'wx' fails when the file exists, so two inits racing cannot clobber each other either.
    await writeFile(file, starterFleet(schemaReference(dir)), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UserError(`${file} already exists; nothing was written`, {
        hint: 'edit it, or run `nixfleet init DIR` to start a fleet somewhere else',
      });
    }
    // `/proc/1`: a directory whose file system takes no new files, a read-only disk, no permission.
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`cannot write ${file}: ${WRITE_FAILURES[code ?? ''] ?? (error as Error).message}`, {
      hint: 'pass a directory on a file system you can write to',
    });
  }
  if (ctx.global.json) {
    ctx.io.stdout.write(`${JSON.stringify({ file })}\n`);
  } else {
    // Written elsewhere than here, the file is given with -f to the commands suggested (CORE-002, hints).
    const flags = dir === resolve(ctx.io.cwd) ? {} : { file: relative(ctx.io.cwd, file) };
    const [validate, plan, apply] = ['validate', 'plan', 'apply'].map((name) => nixfleetCommand(name, flags));
    ctx.io.stdout.write(`wrote ${file}\nnext: \`${validate}\`, then \`${plan}\` to see what \`${apply}\` would run\n`);
  }
  return EXIT.OK;
}

const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'its file system does not allow new files there',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
};

/**
 * Where the editor finds the schema: the file shipped with the nixfleet that runs `init` (in the
 * repository or the installed package), as a path relative to the new fleet file, so it works
 * offline and, with nixfleet installed in the project, on every checkout (see CORE-005, editors).
 */
export function schemaReference(dir: string): string {
  const schema = fileURLToPath(SCHEMA_PATH);
  const path = relative(dir, schema).split(sep).join('/');
  return isAbsolute(path) ? path : path.startsWith('.') ? path : `./${path}`;
}

export const starterFleet = (schema: string) => `# yaml-language-server: $schema=${schema}
# (the schema of the nixfleet that wrote this file; if yours lives elsewhere, point the line above
# at node_modules/nixfleet/schemas/fleet.schema.json, or at a copy: \`nixfleet schema > fleet.schema.json\`)
# Files named by \`include:\` take \`# yaml-language-server: $schema=<same path>#/$defs/includedFile\`.
#
# A nixfleet fleet: hosts, the ops that run on them, and pipelines of ops run in stages.
# Try: nixfleet validate · nixfleet list · nixfleet plan · nixfleet apply
version: 1

settings:
  concurrency: 10            # most hosts running one stage's op at once
  defaultPipeline: update    # what a bare \`nixfleet apply\` runs
  # dataDir: .nixfleet       # journal and output logs, relative to this file
  # shell: /bin/sh
  # ssh:
  #   identityFile: ~/.ssh/id_ed25519
  #   strictHostKeyChecking: accept-new   # yes | accept-new | no
  #   connectTimeout: 10s

hosts:
  # A host that runs commands on this machine; handy to try things out.
  workstation:
    transport: local
    tags: [dev]
    vars: { greeting: hello }
  # A remote host, reached with the system ssh:
  # web1:
  #   transport: ssh
  #   address: 10.0.0.5
  #   user: deploy
  #   tags: [web]

ops:
  hello:
    description: Say hello from each host
    # Placeholders: {{ host.name }}, {{ host.address }}, {{ host.user }}, {{ host.vars.KEY }},
    # {{ op.id }}, {{ pipeline.id }}. Values are shell-quoted for you.
    run: echo {{ host.vars.greeting }} from {{ host.name }}
    timeout: 30s             # 500ms | 30s | 2m | 1h, or a number of seconds
  check:
    description: Make sure the host answers
    run: uname -a
    retryable: true          # safe to run again: \`nixfleet retry\` offers it
    retries: 1               # one automatic extra attempt after a failure

pipelines:
  update:
    description: Say hello, then check
    ops: [hello, check]      # stage by stage, with && semantics per host
    # hosts: ["@web", db1]   # default selector when --on is not given (default: every host)

# include: [ops/*.yaml]      # more files with hosts, ops and pipelines
`;
