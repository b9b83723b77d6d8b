// The executor's view of its run's commands: ids by stage and host, and the status each last
// reached (mirrors what the journal accepted, so the hot path never reads SQLite back).

import type { CommandStatus } from '../domain/status.js';
import type { CommandRecord } from '../store/types.js';

export interface RunCommand {
  readonly id: string;
  readonly stage: number;
  readonly hostId: string;
  /** The rollout batch (see CORE-008). */
  readonly batch: number;
  status: CommandStatus;
}

export interface RunCommands {
  ofStage(stage: number): readonly RunCommand[];
  statusOf(commandId: string): CommandStatus | undefined;
  byId(commandId: string): RunCommand | undefined;
  setStatus(commandId: string, status: CommandStatus): void;
  pending(): readonly RunCommand[];
  all(): readonly RunCommand[];
}

export function createRunCommands(records: readonly CommandRecord[]): RunCommands {
  const list: RunCommand[] = records.map((r) => ({
    id: r.id,
    stage: r.stage,
    hostId: r.hostId,
    batch: r.batch ?? 1,
    status: r.status,
  }));
  const byId = new Map(list.map((c) => [c.id, c]));
  const byStage = new Map<number, RunCommand[]>();
  for (const command of list) {
    const stage = byStage.get(command.stage) ?? [];
    stage.push(command);
    byStage.set(command.stage, stage);
  }
  return {
    ofStage: (stage) => byStage.get(stage) ?? [],
    statusOf: (id) => byId.get(id)?.status,
    byId: (id) => byId.get(id),
    setStatus(id, status) {
      const command = byId.get(id);
      if (command) command.status = status;
    },
    pending: () => list.filter((c) => c.status === 'PENDING'),
    all: () => list,
  };
}
