// The terminal renderer: a Listr2 tree, stage -> hosts, with a live tail of each running host's
// output and durations (CORE-002). It only follows RunEvents: every Listr task waits for the
// event that settles it, so the tree never drives (or waits on) the engine.
import { Listr, type ListrTask, PRESET_TIMER } from 'listr2';
import { completedHostsOf } from '../engine/run-outcome.js';
import type { RunEvent } from '../engine/types.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import { formatElapsed } from './elapsed.js';
import type { RunRenderer } from './run-renderer.js';
import { applyRunEvent, batchLabel, type CommandView, commandsOfStage, createRunView, isFailure } from './run-view.js';
import { lastLines } from './terminal-text.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const TERMINAL = new Set(['SUCCESS', 'ERROR', 'TIMEOUT', 'BLOCKED', 'SKIPPED', 'CANCELLED', 'ORPHANED']);

export function createListrRenderer(out: NodeJS.WritableStream): RunRenderer {
  const view = createRunView();
  const settled = new Map<string, Deferred<CommandView>>();
  const outputListeners = new Map<string, (tail: string) => void>();
  const stageStarted: Deferred<boolean>[] = [];
  let tree: Promise<void> = Promise.resolve();

  // CORE-008: in a rollout with several waves each host says which one it is in.
  const hostLabel = (command: CommandView) => {
    const batch = batchLabel(view, command.batch);
    return batch ? `${label(command.hostId)} [${batch}]` : label(command.hostId);
  };
  const rollbackIds = new Map<string, string>();
  const settledOf = (commandId: string) => {
    let entry = settled.get(commandId);
    if (!entry) {
      entry = deferred<CommandView>();
      settled.set(commandId, entry);
    }
    return entry;
  };
  const followRollback = async (rollbackId: string, task: { title: string; output: string }) => {
    const title = task.title;
    task.title = `${title}, rolling back`;
    outputListeners.set(rollbackId, (tail) => {
      task.output = lastLines(tail, 3).join('\n');
    });
    const rollback = await settledOf(rollbackId).promise;
    outputListeners.delete(rollbackId);
    task.title = title;
    return rollback;
  };

  const hostTask = (command: CommandView): ListrTask => ({
    title: hostLabel(command),
    // The title carries the journaled duration; Listr's own timer would count the wait for a slot.
    rendererOptions: { outputBar: 3, persistentOutput: false, timer: { ...PRESET_TIMER, condition: false } },
    task: async (_ctx, task) => {
      outputListeners.set(command.commandId, (tail) => {
        task.output = lastLines(tail, 3).join('\n');
      });
      const final = await settledOf(command.commandId).promise;
      outputListeners.delete(command.commandId);
      const duration = final.durationMs !== null ? ` (${formatElapsed(final.durationMs)})` : '';
      task.title = `${hostLabel(final)} ${final.status}${duration}${armedText(final)}`;
      // CORE-009: the host's line stays open while its rollback runs, then says how it went.
      const rollbackId = rollbackIds.get(command.commandId);
      const rollback = rollbackId !== undefined ? await followRollback(rollbackId, task) : undefined;
      if (rollback) task.title += `, ${rollbackText(rollback)}`;
      if (final.status === 'SKIPPED' || final.status === 'CANCELLED') {
        task.skip(final.error ? `${task.title}: ${final.error}` : task.title);
      } else if (isFailure(final.status)) {
        // The reason, then the last lines the command printed: usually what says why.
        const said = lastLines(final.tail, 3).map((line) => `  | ${line}`);
        const lines = [`${label(final.hostId)}: ${final.error ?? final.status}`, ...said];
        if (rollback && rollback.status !== 'SUCCESS') {
          lines.push(
            `${label(final.hostId)}: rollback ${rollback.commandId} ${rollback.status}: ${rollback.error ?? ''}`,
          );
          lines.push(...lastLines(rollback.tail, 3).map((line) => `  | ${line}`));
        }
        throw new Error(lines.join('\n'));
      }
    },
  });

  const start = () => {
    const stages = view.stages.map((op, index): ListrTask => {
      stageStarted[index] = deferred<boolean>();
      return {
        title: `${index + 1}/${view.stages.length} ${op}`,
        task: async (_ctx, task) => {
          const didStart = await stageStarted[index]!.promise;
          const commands = commandsOfStage(view, index);
          if (!didStart || commands.length === 0) {
            task.skip(`${index + 1}/${view.stages.length} ${op}: not run`);
            return;
          }
          return task.newListr(commands.map(hostTask), { concurrent: true, exitOnError: false });
        },
      };
    });
    const listr = new Listr(stages, {
      // Batches revisit every stage, so later stages must be able to show while earlier ones wait.
      concurrent: (view.rollout?.waves.length ?? 1) > 1,
      exitOnError: false,
      registerSignalListeners: false,
      rendererOptions: { collapseSubtasks: false, collapseErrors: false, showErrorMessage: true, timer: PRESET_TIMER },
    });
    tree = listr.run().then(
      () => undefined,
      () => undefined,
    );
  };

  const onEvent = (event: RunEvent) => {
    const command = applyRunEvent(view, event);
    switch (event.type) {
      case 'run_started':
        out.write(`run ${event.runId}: ${event.target} on ${event.hosts.length} host(s)\n`);
        for (const c of view.commands.values()) settled.set(c.commandId, deferred<CommandView>());
        start();
        return;
      case 'stage_started':
        stageStarted[event.stage]?.resolve(true);
        return;
      case 'command_status':
        if (event.rollbackId !== undefined) rollbackIds.set(event.commandId, event.rollbackId);
        if (command && TERMINAL.has(event.status)) settledOf(event.commandId).resolve(command);
        return;
      case 'command_output':
        if (command) outputListeners.get(event.commandId)?.(command.tail);
        return;
      case 'run_finished':
        // A cancelled run never starts its later stages: let their tasks skip.
        for (const stage of stageStarted) stage.resolve(false);
        return;
      default:
        return;
    }
  };

  return {
    onEvent,
    finish: async () => {
      await tree;
      const elapsed = formatElapsed((view.finishedAt ?? Date.now()) - view.startedAt);
      const completed = completedHostsOf(view.hosts, [...view.commands.values()]).length;
      if (view.stopped) out.write(`rollout stopped: ${view.stopped}\n`);
      out.write(`run ${view.runId} ${view.status}: ${completed}/${view.hosts.length} host(s) completed (${elapsed})\n`);
    },
  };
}

function armedText(command: CommandView): string {
  return command.armed ? `, rollback timer ${command.armed.state}` : '';
}

function rollbackText(rollback: CommandView): string {
  const duration = rollback.durationMs !== null ? ` (${formatElapsed(rollback.durationMs)})` : '';
  if (rollback.status === 'SUCCESS') return `rolled back${duration}`;
  return `rollback ${rollback.status}${duration}: ${rollback.hostId} needs a person`;
}

function label(hostId: string): string {
  return hostId === CONTROLLER_HOST_ID ? 'controller' : hostId;
}
