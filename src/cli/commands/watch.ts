// `nixfleet watch [--run TARGET] [--on SEL]` (see CORE-006): live-reloads the
// fleet file and its includes, printing each reload and each broken save in one line; with
// `--run`, applies TARGET once the fleet is valid and after every good reload, one run at a time.
// Stops on SIGINT/SIGTERM: exit 0 when idle, 130 when a run had to be cancelled.

import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { plural } from '../../domain/plural.js';
import { canaryCapText } from '../../engine/rollout/rollout-plan.js';
import type { RunEventListener } from '../../engine/types.js';
import { type ConfigError, ConfigErrors, formatConfigError } from '../../errors/config-error.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { openJournal } from '../../store/journal.js';
import type { Journal } from '../../store/types.js';
import { createPlainRenderer } from '../../ui/plain-renderer.js';
import { type RunRenderer, resolveRenderer } from '../../ui/run-renderer.js';
import { createTtyRenderer } from '../../ui/tty-renderer.js';
import { describeDiff } from '../../watch/describe-diff.js';
import { watchRegistry } from '../../watch/registry-watcher.js';
import { createReloadRunner, type ReloadRunner } from '../../watch/reload-runner.js';
import type { CommandContext } from '../command.js';
import { dataDirOverride, journalPlaceFor, rereadFleetFilePath } from '../load-fleet.js';
import { parseRolloutFlags, ROLLOUT_OPTIONS } from '../rollout-flags.js';
import { NO_ROLLBACK_OPTION, parseConcurrency, parseNoRollback } from '../run-flags.js';
import { runningCommandsAfter, waitForStopSignal } from '../stop-signal.js';

export const usage =
  'watch [--run TARGET] [--on SEL] [--concurrency N] [--batch N|N%] [--canary SEL|N] [--max-failures N|N%] [--no-rollback]';
export const options = {
  run: { type: 'string', valueName: 'TARGET', description: 'apply TARGET at start and after every good save' },
  on: { type: 'string', valueName: 'SEL', description: 'with --run: only these hosts (web1,db1  @tag  web*  !web3)' },
  concurrency: { type: 'string', valueName: 'N', description: 'with --run: most hosts running a stage at once' },
  ...ROLLOUT_OPTIONS,
  ...NO_ROLLBACK_OPTION,
} as const;
export const maxPositionals = 0;
// With --json, one object with a `type` per line (CORE-006).
export const jsonLines = true;

type Line = Record<string, unknown> & { type: string };

export async function run(ctx: CommandContext): Promise<number> {
  const file = rereadFleetFilePath(ctx, 'watch');
  if (!existsSync(file)) {
    throw new UserError(`no fleet file at ${relative(ctx.io.cwd, file) || file}`, {
      hint: 'run `nixfleet init` to write one, or point at it with -f FILE',
    });
  }
  // Every flag but --run itself is about the runs.
  for (const flag of Object.keys(options).filter((name) => name !== 'run')) {
    if (ctx.values[flag] !== undefined && ctx.values.run === undefined) {
      throw new UserError(`--${flag} only applies to runs: it needs --run TARGET`, {
        hint: `usage: nixfleet ${usage}`,
      });
    }
  }
  const target = ctx.values.run as string | undefined;
  const selector = ctx.values.on as string | undefined;
  const concurrency = parseConcurrency(ctx.values.concurrency);
  const rollout = parseRolloutFlags(ctx);
  const dataDir = dataDirOverride(ctx);
  const isRunning = ctx.values.run !== undefined;
  // In a terminal a run draws the same live tree as `apply`; lines said meanwhile go above it.
  const tty =
    resolveRenderer('auto', { json: ctx.global.json, isTTY: ctx.io.stdout.isTTY === true, env: ctx.io.env }) === 'tty';
  let drawing: RunRenderer | undefined;
  const say = (text: string, json: Line) => {
    if (ctx.global.json) ctx.io.stdout.write(`${JSON.stringify(json)}\n`);
    else if (drawing?.log) drawing.log(text);
    else ctx.io.stdout.write(`${text}\n`);
  };
  const name = (path: string) => relative(ctx.io.cwd, path) || path;

  // A run needs the journal (and then reloads are journaled too); without --run, watching writes
  // nothing to the data directory: it is a live `validate`.
  const place = isRunning ? await journalPlaceFor(ctx) : undefined;
  const journal = place ? openJournal(place.dataDir, place.store) : undefined;
  let runner: ReloadRunner | undefined;
  // A run that failed past recovery (its journal failed mid-run; CORE-006) ends watching with its
  // error, as it ends `apply`.
  let endWithFatal!: (error: unknown) => void;
  const fatalCame = new Promise<{ error: unknown }>((resolve) => {
    endWithFatal = (error) => resolve({ error });
  });
  const cancelling = (runId: string, signal: NodeJS.Signals = 'SIGINT') =>
    say(`cancelling run ${runId} (${runningCommandsAfter(signal)})`, { type: 'cancelling', runId });

  const startRunsOn = () => {
    if (!journal || runner) return;
    runner = createReloadRunner({
      target,
      selector,
      journal,
      actor: 'watch',
      ...(concurrency === undefined ? {} : { concurrency }),
      rollout,
      ...parseNoRollback(ctx),
      current: () => watcher.current(),
      version: () => watcher.version(),
      listenerFor: (): RunEventListener | undefined => {
        if (ctx.global.json) return undefined;
        drawing = tty
          ? createTtyRenderer(ctx.io.stdout, ctx.global)
          : createPlainRenderer(ctx.io.stdout, { github: ctx.io.env.GITHUB_ACTIONS === 'true', flags: ctx.global });
        return drawing.onEvent;
      },
      onStarting: (plan, version) => {
        if (ctx.global.json) return;
        say(`applying ${plan.target} on ${hostList(plan.hosts)} (registry v${version})`, { type: '' });
        // CORE-008: a canary count cut so some host waits for it is said, as `apply` says it.
        const capped = plan.rollout ? canaryCapText(plan.rollout) : null;
        if (capped !== null) say(capped, { type: '' });
      },
      onStarted: (started, plan, version) => {
        if (!ctx.global.json) return;
        // CORE-008: a capped canary is said on the run's own line, with the count asked for (as
        // `plan --json` gives it) and the words the text output shows (as the dashboard's `notice`).
        const capped = plan.rollout ? canaryCapText(plan.rollout) : null;
        say('', {
          type: 'run_started',
          runId: started.runId,
          target: plan.target,
          version,
          hosts: plan.hosts,
          ...(capped === null || plan.rollout === undefined
            ? {}
            : { canary: plan.rollout.canary, canaryAsked: plan.rollout.canaryAsked, notice: capped }),
        });
      },
      onCancelledAtStart: cancelling,
      // The renderer prints the run's recap; JSON readers get the outcome.
      onFinished: async (outcome) => {
        const finished = drawing;
        drawing = undefined;
        await finished?.finish();
        if (ctx.global.json) say('', { type: 'run_finished', ...outcome });
      },
      onNotStarted: (message, hint) =>
        say(`run not started: ${message}${hint ? ` (${hint})` : ''}`, { type: 'run_not_started', message }),
      onFatal: async (error, runId) => {
        const finished = drawing;
        drawing = undefined;
        await finished?.finish();
        // CORE-002: the engine killed the run's running commands before `done` rejected.
        if (runId !== undefined)
          ctx.io.stderr.write(`nixfleet: run ${runId} stopped and its running commands were killed\n`);
        endWithFatal(error);
      },
      onQueued: (runId) => say(`saved during run ${runId}: one re-run queued`, { type: 'run_queued', after: runId }),
    });
  };

  const reportErrors = (errors: readonly ConfigError[]) => {
    const kept = watcher.version() > 0 ? `kept v${watcher.version()}` : 'waiting for a valid save';
    if (ctx.global.json) {
      say('', { type: 'invalid', errors, keptVersion: watcher.version() || null });
      return;
    }
    const lines = [...errors.map(formatConfigError), `${errors.length} error(s) in the fleet file; ${kept}`].join('\n');
    // Past a run's live frame, as `say` does, or the frame's next redraw erased them.
    if (drawing?.log) drawing.log(lines, ctx.io.stderr);
    else ctx.io.stderr.write(`${lines}\n`);
  };

  const watcher = watchRegistry(file, {
    cwd: ctx.io.cwd,
    actor: 'watch',
    ...(journal === undefined ? {} : { journal }),
    ...(dataDir === undefined ? {} : { dataDir }),
    onReload: (registry, diff, info) => {
      say(`reloaded ${info.label} (v${info.version}): ${describeDiff(diff, info)}`, {
        type: 'reloaded',
        version: info.version,
        files: info.changedFiles.map(name),
        hash: registry.hash,
        diff,
        settingsChanged: info.settingsChanged,
        secretsChanged: info.secretsChanged,
      });
      startRunsOn();
      runner?.request();
    },
    onError: reportErrors,
    onRestored: (registry) =>
      say(
        `${name(registry.file)}${registry.files.length > 1 ? ' and its includes are' : ' is'} valid again, unchanged since v${watcher.version()}`,
        {
          type: 'restored',
          version: watcher.version(),
        },
      ),
  });

  const stopped = waitForStopSignal(() => {
    // CORE-002: a second Ctrl-C kills the commands still running.
    void runner?.stop({ cancel: true, kill: true });
  });

  try {
    const first = await watcher.ready;
    say(
      `watching ${name(first.file)} (${plural(first.files.length, 'file')}: ${plural(first.hosts.size, 'host')}, ${plural(first.ops.size, 'op')}, ${plural(first.pipelines.size, 'pipeline')}) v1; Ctrl-C to stop`,
      { type: 'watching', version: 1, file: name(first.file), files: first.files.map(name), hash: first.hash },
    );
    startRunsOn();
    runner?.request();
  } catch (error) {
    if (!(error instanceof ConfigErrors)) {
      stopped.dispose();
      await watcher.close();
      journal?.close();
      throw error;
    }
    reportErrors(error.errors);
    say(`watching ${name(file)}; Ctrl-C to stop`, { type: 'watching', version: 0, file: name(file) });
  }

  const fatal = await Promise.race([stopped.signal.then((signal) => ({ signal })), fatalCame]);
  if ('error' in fatal) {
    // main.ts reports it: with --json, as the stream's last line (`type: "error"`).
    stopped.dispose();
    await runner?.stop();
    await watcher.close();
    closeQuietly(journal);
    throw fatal.error;
  }
  if (runner?.active !== undefined) cancelling(runner.active.runId, fatal.signal);
  // Also a run still reading its secrets, which then starts cancelled: that is during a run too.
  const cancelled = (await runner?.stop({ cancel: true })) === true;
  stopped.dispose();
  await watcher.close();
  journal?.close();
  say('stopped watching', { type: 'stopped' });
  return cancelled ? EXIT.CANCELLED : EXIT.OK;
}

/** The journal's own failure is what is reported; closing it after that may fail as well. */
function closeQuietly(journal: Journal | undefined): void {
  try {
    journal?.close();
  } catch {
    // the error that ended watching is already on its way
  }
}

function hostList(hosts: readonly string[]): string {
  return hosts.length <= 5 ? hosts.join(', ') : `${hosts.length} hosts`;
}
