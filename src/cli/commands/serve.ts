// `nixfleet serve [--bind 127.0.0.1] [--port 7420] [--token T]` (see
// CORE-004): the dashboard and the State Sync endpoint over the data directory's journal, with
// live reload of the fleet file. Runs until SIGINT/SIGTERM; a second signal kills the commands
// of runs this server started.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { relative } from 'node:path';
import { type ConfigError, ConfigErrors, formatConfigError } from '../../errors/config-error.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { openJournal } from '../../store/journal.js';
import { JournalError } from '../../store/journal-error.js';
import { leaseMsFrom } from '../../store/postgres/postgres-journal.js';
import { StoreUnavailableError } from '../../store/store-unavailable-error.js';
import { generateToken } from '../../sync/access-token.js';
import { createEngineDispatcher, type EngineDispatcher } from '../../sync/engine-dispatcher.js';
import { isLoopback } from '../../sync/origin-policy.js';
import { DEFAULT_BIND, DEFAULT_PORT, type SyncServer, startSyncServer } from '../../sync/sync-server.js';
import { syncSettingsFrom } from '../../sync/sync-settings.js';
import { describeDiff } from '../../watch/describe-diff.js';
import { type RegistryWatcher, watchRegistry } from '../../watch/registry-watcher.js';
import type { CommandContext } from '../command.js';
import { hideOnCommandLine } from '../hidden-arguments.js';
import { journalPlaceFor, rereadFleetFilePath } from '../load-fleet.js';
import { type PruneSchedule, pruneIntervalFrom, schedulePrune } from '../prune-schedule.js';
import { runningCommandsAfter, waitForStopSignal } from '../stop-signal.js';

export const usage = 'serve [--bind 127.0.0.1] [--port 7420] [--token T]';
export const options = {
  bind: { type: 'string', valueName: 'ADDR', description: 'address to listen on (default 127.0.0.1)' },
  port: { type: 'string', valueName: 'PORT', description: 'port to listen on; 0 picks a free one (default 7420)' },
  token: {
    type: 'string',
    valueName: 'T',
    description: 'access token (else $NIXFLEET_TOKEN, else a random one, printed)',
  },
} as const;
export const maxPositionals = 0;

/**
 * How often serve looks for dead owners on SQLite (CORE-004): one short write transaction that
 * checks the owners of unfinished work, on the same machine, by pid.
 */
const SQLITE_RECOVERY_INTERVAL_MS = 2_000;

export async function run(ctx: CommandContext): Promise<number> {
  const bind = parseBind(ctx.values.bind as string | undefined);
  const port = parsePort(ctx.values.port as string | undefined);
  const token = parseToken((ctx.values.token as string | undefined) ?? nonEmpty(ctx.io.env.NIXFLEET_TOKEN));
  // CORE-004, Access: a loopback server is reachable by every user of the machine, who can read
  // its command line too; the token is all that stands in their way.
  if (ctx.values.token !== undefined) hideOnCommandLine(token);
  const settings = syncSettingsFrom(ctx.io.env);
  const pruneEveryMs = pruneIntervalFrom(ctx.io.env);
  const file = rereadFleetFilePath(ctx, 'serve');
  // Without its fleet file, serve shows the journal and says so (below).
  const { dataDir, store } = await journalPlaceFor(ctx, { namedFileMayBeMissing: true });
  const name = (path: string) => relative(ctx.io.cwd, path) || path;
  const say = (text: string, json: Record<string, unknown>) =>
    ctx.io.stdout.write(ctx.global.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
  const printErrors = (errors: readonly ConfigError[]) => {
    for (const e of errors) ctx.io.stderr.write(`${formatConfigError(e)}\n`);
    // As `watch` says it (CORE-006): the last good definitions stay, and Apply runs them.
    const version = watcher?.version() ?? 0;
    const kept =
      version > 0
        ? `kept v${version}: Apply runs its definitions until a valid save`
        : 'nothing to apply until a valid save';
    ctx.io.stderr.write(`${errors.length} error(s) in the fleet file; ${kept}\n`);
  };

  const journal = openJournal(dataDir, store);
  // serve is often the one process watching when another one dies (an `apply` killed with -9 in
  // another terminal, a controller on another machine): it runs orphan recovery (CORE-003) while
  // it serves, so the page shows such runs ORPHANED without waiting for the next nixfleet to
  // start. On PostgreSQL it looks for expired leases twice per lease (CORE-012). Its own runs that
  // lost their journal are recorded too, once it answers again (CORE-004).
  const recovery = setInterval(
    () => {
      try {
        journal.recoverOrphans();
        dispatcher?.settleFailedRuns();
      } catch (error) {
        // The PostgreSQL server away: the server's own lines say so, once (below).
        if (error instanceof StoreUnavailableError) return;
        ctx.io.stderr.write(`nixfleet serve: looking for orphaned runs failed: ${(error as Error).message}\n`);
      }
    },
    store.store === undefined ? SQLITE_RECOVERY_INTERVAL_MS : leaseMsFrom(ctx.io.env) / 2,
  );
  recovery.unref();
  let failWith!: (error: unknown) => void;
  const journalFailed = new Promise<unknown>((resolve) => {
    failWith = resolve;
  });
  let watcher: RegistryWatcher | undefined;
  let dispatcher: EngineDispatcher | undefined;
  let server: SyncServer | undefined;
  let pruning: PruneSchedule | undefined;
  const stopped = waitForStopSignal(() => void dispatcher?.stopAll({ kill: true }));
  try {
    if (existsSync(file)) {
      const live = watchRegistry(file, {
        ...(ctx.global.dataDir === undefined && ctx.io.env.NIXFLEET_DATA_DIR === undefined ? {} : { dataDir }),
        journal,
        actor: 'serve',
        onReload: (registry, diff, info) =>
          say(`reloaded ${info.label} (v${info.version}): ${describeDiff(diff, info)}`, {
            type: 'reloaded',
            version: info.version,
            hash: registry.hash,
          }),
        onError: printErrors,
      });
      watcher = live;
      dispatcher = createEngineDispatcher({
        journal,
        registry: () => live.current(),
        onFinished: (runId, outcome) =>
          outcome instanceof Error
            ? ctx.io.stderr.write(`nixfleet serve: run ${runId} failed inside nixfleet: ${outcome.message}\n`)
            : say(`run ${runId} ${outcome.status}`, { type: 'run_finished', runId, status: outcome.status }),
      });
      try {
        await live.ready;
      } catch (error) {
        if (!(error instanceof ConfigErrors)) throw error;
        printErrors(error.errors);
      }
    } else {
      ctx.io.stderr.write(
        `nixfleet serve: no fleet file at ${name(file)}; showing the journal in ${name(dataDir)} without Apply\n`,
      );
    }
    journal.pruneIfDue(pruneEveryMs);
    pruning = schedulePrune(journal, pruneEveryMs, {
      onPruned: (result) =>
        result.pipelines + result.events > 0 &&
        say(`pruned ${result.pipelines} run(s) and ${result.events} event(s) by retention`, {
          type: 'pruned',
          ...result,
        }),
      onError: (error) =>
        ctx.io.stderr.write(
          `nixfleet serve: retention failed: ${error instanceof Error ? error.message : String(error)}\n`,
        ),
    });

    server = await startSyncServer({
      journal,
      token,
      bind,
      port,
      beaconIntervalMs: settings.beaconIntervalMs,
      eventLimit: settings.eventLimit,
      ...(dispatcher === undefined ? {} : { dispatcher }),
      onJournalFailure: (error) => failWith(error),
      // CORE-012: a PostgreSQL server that restarts or fails over is waited for, not a reason to stop.
      onJournalLost: (error) =>
        say(`${error.message}; waiting for it (the dashboard reconnects once it is back)`, {
          type: 'journal_lost',
          reason: error.message,
        }),
      onJournalBack: (version) =>
        say(`the journal is back (State Sync v${version})`, { type: 'journal_back', version }),
      reportError: (error) =>
        ctx.io.stderr.write(
          `nixfleet serve: internal error: ${error instanceof Error ? error.stack : String(error)}\n`,
        ),
    });
    const url = `${server.url}?token=${encodeURIComponent(token)}`;
    if (!isLoopback(bind)) {
      ctx.io.stderr.write(
        `nixfleet serve: listening on ${bind}, not only loopback: anyone who can reach port ${server.port} and has the token can run pipelines\n`,
      );
    }
    // The journal's place: the data directory, or the PostgreSQL database (its URL without password).
    const serving = store.store === undefined ? name(dataDir) : journal.dbPath;
    say(`nixfleet dashboard: ${url}\nserving ${serving} (State Sync v${journal.version()}); Ctrl-C to stop`, {
      type: 'listening',
      url,
      bind,
      port: server.port,
      token,
      dataDir,
      ...(store.store === undefined ? {} : { store: serving }),
      version: journal.version(),
    });

    const outcome = await Promise.race([
      stopped.signal.then((signal) => ({ signal })),
      journalFailed.then((failure) => ({ failure })),
    ]);
    if ('failure' in outcome) {
      const { failure } = outcome;
      // CORE-003: a journal that fails or was replaced under us is not followed or written any
      // further: the runs started here are killed and serve exits 1 with the reason.
      await dispatcher?.stopAll({ kill: true });
      if (failure instanceof JournalError) {
        ctx.io.stderr.write(`nixfleet serve: stopped: ${failure.message}\n  hint: ${failure.hint}\n`);
        return EXIT.FAILED;
      }
      throw failure;
    }
    const running = dispatcher?.active.size ?? 0;
    if (running > 0)
      say(`cancelling ${running} run(s) started here (${runningCommandsAfter(outcome.signal)})`, {
        type: 'cancelling',
        runs: running,
      });
    // CORE-004: from here on the API starts no runs (503), and every run started here, also one
    // whose start was under way, is cancelled and awaited before the journal closes.
    const cancelled = (await dispatcher?.stopAll()) ?? 0;
    say('stopped serving', { type: 'stopped' });
    return cancelled > 0 ? EXIT.CANCELLED : EXIT.OK;
  } finally {
    pruning?.stop();
    stopped.dispose();
    clearInterval(recovery);
    await server?.close();
    await watcher?.close();
    journal.close();
  }
}

function parseBind(value: string | undefined): string {
  if (value === undefined) return DEFAULT_BIND;
  if (value === 'localhost' || isIP(value) !== 0) return value;
  throw new UserError(`--bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), got \`${value}\``);
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n > 65_535) {
    throw new UserError(`--port must be a whole number from 0 to 65535, got \`${value}\``, {
      hint: '--port 0 picks a free port',
    });
  }
  return n;
}

function parseToken(value: string | undefined): string {
  if (value === undefined) return generateToken();
  // The token travels in URLs and headers: keep it to characters that need no escaping anywhere.
  if (!/^[A-Za-z0-9._~-]{16,256}$/.test(value)) {
    throw new UserError('the token must be 16 to 256 characters of A-Z, a-z, 0-9, `.`, `_`, `~` or `-`', {
      hint: 'leave out --token and $NIXFLEET_TOKEN to get a random one',
    });
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
