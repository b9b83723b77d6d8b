// The status machines (see CORE-001 for commands, CORE-002 for runs).
// Every status change in nixfleet goes through assertCommandTransition / assertRunTransition:
// an illegal step is a bug in nixfleet, so it throws.

export const COMMAND_STATUSES = [
  'PENDING',
  'VALIDATING',
  'EXECUTING',
  'SUCCESS',
  'ERROR',
  'TIMEOUT',
  'BLOCKED',
  'SKIPPED',
  'CANCELLED',
  'ORPHANED',
] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const RUN_STATUSES = ['RUNNING', 'COMPLETE', 'PARTIAL', 'FAILED', 'CANCELLED', 'ORPHANED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const COMMAND_TRANSITIONS: Readonly<Record<CommandStatus, readonly CommandStatus[]>> = {
  PENDING: ['VALIDATING', 'SKIPPED', 'CANCELLED', 'ORPHANED'],
  // A precheck that cannot even run (unreachable host, timeout) is an ERROR / TIMEOUT, not BLOCKED.
  VALIDATING: ['EXECUTING', 'BLOCKED', 'ERROR', 'TIMEOUT', 'CANCELLED', 'ORPHANED'],
  // EXECUTING -> EXECUTING is an automatic retry: the attempt number goes up (CORE-001).
  EXECUTING: ['EXECUTING', 'SUCCESS', 'ERROR', 'TIMEOUT', 'CANCELLED', 'ORPHANED'],
  SUCCESS: [],
  ERROR: [],
  TIMEOUT: [],
  BLOCKED: [],
  SKIPPED: [],
  CANCELLED: [],
  ORPHANED: [],
};

const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  // RUNNING -> RUNNING is the move to the next stage.
  RUNNING: ['RUNNING', 'COMPLETE', 'PARTIAL', 'FAILED', 'CANCELLED', 'ORPHANED'],
  COMPLETE: [],
  PARTIAL: [],
  FAILED: [],
  CANCELLED: [],
  ORPHANED: [],
};

export function canTransitionCommand(from: CommandStatus, to: CommandStatus): boolean {
  return COMMAND_TRANSITIONS[from].includes(to);
}

export function canTransitionRun(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(kind: 'command' | 'run', id: string, from: string, to: string) {
    super(`illegal ${kind} transition for ${id}: ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertCommandTransition(id: string, from: CommandStatus, to: CommandStatus): void {
  if (!canTransitionCommand(from, to)) throw new IllegalTransitionError('command', id, from, to);
}

export function assertRunTransition(id: string, from: RunStatus, to: RunStatus): void {
  if (!canTransitionRun(from, to)) throw new IllegalTransitionError('run', id, from, to);
}

export function isTerminalCommand(status: CommandStatus): boolean {
  return COMMAND_TRANSITIONS[status].length === 0;
}

/** Statuses that hold a host: a host is busy while a live owner has one of these on it (CORE-003). */
export const ACTIVE_COMMAND_STATUSES: readonly CommandStatus[] = ['PENDING', 'VALIDATING', 'EXECUTING'];

export function isTerminalRun(status: RunStatus): boolean {
  return RUN_TRANSITIONS[status].length === 0;
}
