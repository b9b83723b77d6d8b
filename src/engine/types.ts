// The engine's vocabulary: plans, transports and the typed run events renderers subscribe to
// (see CORE-001 and CORE-002).

import type { ArmedState } from '../domain/armed-state.js';
import type { CommandStatus, RunStatus } from '../domain/status.js';
import type { Host, Op, Registry } from '../registry/types.js';
import type { RolloutPlan } from './rollout/rollout-plan.js';

/** A command ready to run on one host: every template rendered, values shell-quoted. */
export interface RenderedCommand {
  readonly run: string;
  readonly precheck?: string;
  readonly postcheck?: string;
  /** The op's rollback, rendered like `run` (see CORE-009). */
  readonly rollback?: string;
  readonly cwd?: string;
  /** The op's `env:` rendered, plus NIXFLEET_HOST, NIXFLEET_OP, NIXFLEET_PIPELINE, NIXFLEET_VAR_*. */
  readonly env: Readonly<Record<string, string>>;
  /** Names of the secrets the command uses; resolved when the run starts (see CORE-010). */
  readonly secrets?: readonly string[];
  /** `env:` entries that use secrets: other placeholders rendered, secrets by name; filled in at exec time. */
  readonly secretEnv?: Readonly<Record<string, readonly SecretEnvPart[]>>;
}

/** A piece of an env value that uses secrets: literal text, or the secret of that name (see CORE-010). */
export type SecretEnvPart = string | { readonly secret: string };

export interface PlannedCommand {
  /** A host id, or CONTROLLER_HOST_ID for `runsOn: controller`. */
  readonly hostId: string;
  readonly rendered: RenderedCommand;
}

export interface PlannedStage {
  readonly index: number;
  readonly op: Op;
  /** One entry per host that runs this stage (exactly one, CONTROLLER_HOST_ID, for controller ops). */
  readonly commands: readonly PlannedCommand[];
}

/** How the planned run will run, as far as the plan depends on it. */
export interface PlanOptions {
  /** False with --no-rollback (CORE-009): no rollback is sent, so none is rendered. */
  readonly rollback?: false;
}

export interface Plan {
  /** The pipeline id, or the op id when a single op is applied. */
  readonly target: string;
  readonly targetKind: 'pipeline' | 'op';
  readonly selector: string;
  /** Target host ids, in fleet-file order. */
  readonly hosts: readonly string[];
  readonly stages: readonly PlannedStage[];
  readonly registry: Registry;
  /** Canary, batches and budget (see CORE-008); absent: every host in one wave, no budget. */
  readonly rollout?: RolloutPlan;
}

/**
 * A piece of a command's output (see CORE-001, output): a Buffer is the command's own bytes, as
 * they came, never decoded on the way to its log file; a string is nixfleet's own text (a retry
 * line, a kill notice), stored as UTF-8.
 */
export type OutputChunk = Buffer | string;

export interface ExecOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs: number;
  /** Aborting kills the command's whole process tree now (second Ctrl-C, `cancel --kill`). */
  readonly signal?: AbortSignal;
  /**
   * Output as it arrives. `stream` tells apart pipes a transport reads separately (ssh's stdout
   * and stderr), so a redactor can follow each one (see CORE-010); absent for one merged pipe.
   */
  readonly onOutput?: (chunk: OutputChunk, stream?: 'stdout' | 'stderr') => void;
  /**
   * Variables whose values are secret (`NIXFLEET_SECRET_<NAME>`, env entries using secrets): handed
   * over privately, never on a command line; the child's environment locally, the stdin preamble
   * over ssh (see CORE-010).
   */
  readonly privateEnv?: Readonly<Record<string, string>>;
  /** ssh: a new connection, never the multiplexed master, to prove the host can still be reached (CORE-009). */
  readonly fresh?: boolean;
  /** Called once the command's processes exist, and again when more is known (CORE-011). */
  readonly onProcess?: (process: CommandProcess) => void;
}

/**
 * What it takes to check and kill a running command after its nixfleet died (CORE-011): a local
 * process group whose life spans the command's (the shell for local commands, the ssh client for
 * ssh ones), its leader's start time (a reused pid is not the same process), and for ssh the
 * remote process group.
 */
export interface CommandProcess {
  readonly group: number;
  /** Epoch ms the group leader started; null where /proc is not available. */
  readonly startedAt: number | null;
  readonly remoteGroup?: number;
  /** NIXFLEET_PROCESS_TAG of a local command: finds what left the group (Linux). */
  readonly tag?: string;
}

export interface ExecResult {
  /** null when the process was killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** A transport failure in one line (e.g. "ssh: connection refused to 10.0.0.5:22"). */
  readonly transportError?: string;
  /** With a transportError: true when the command had started on the host before it (CORE-009). */
  readonly started?: boolean;
}

/** How a command reaches a host (specs/README.md, decision 5). */
export interface Transport {
  /**
   * A command's time starts at its start gate, where the transport reports its processes first
   * (local, CORE-011): the op runner journals its start with them (CORE-003). Unset (ssh), the
   * command's time starts with `exec`, connecting included, and so does its journaled start.
   */
  readonly startsAtGate?: boolean;
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  /** Release connections (ssh multiplex masters). Idempotent. */
  close(): Promise<void>;
}

export type TransportFactory = (host: Host | undefined, registry: Registry) => Transport;

/** A journaled command of a run, as announced by `run_started`. */
export interface PlannedCommandRef {
  readonly commandId: string;
  readonly stage: number;
  readonly hostId: string;
  readonly op: string;
  /** The rollout batch (0: canary), null for runs journaled before rollouts (see CORE-008). */
  readonly batch?: number | null;
}

/** Events a run emits; renderers and reports subscribe and only display (specs/README.md, the one-way flow). */
export type RunEvent =
  | {
      readonly type: 'run_started';
      readonly runId: string;
      readonly target: string;
      readonly hosts: readonly string[];
      readonly stages: readonly string[];
      /** Every command of the run as created PENDING (a retry has none for stages a host already did). */
      readonly commands?: readonly PlannedCommandRef[];
      readonly rollout?: RolloutPlan;
      /** The run this one retries, as journaled (`retry_of`), null for a fresh run (see CORE-002, retry). */
      readonly retryOf?: string | null;
      /** The run's ops marked `retryable`: the recap's retry hint adds --force for the others (CORE-002, hints). */
      readonly retryableOps?: readonly string[];
      readonly at: number;
    }
  | {
      /** A wave of the rollout begins (see CORE-008): batch 0 is the canary. */
      readonly type: 'batch_started';
      readonly runId: string;
      readonly batch: number;
      readonly hosts: readonly string[];
      /** Batches after the canary. */
      readonly batches: number;
      readonly at: number;
    }
  | {
      /** The rollout waits its `pause` before the next wave (see CORE-008); a cancel ends the wait. */
      readonly type: 'rollout_paused';
      readonly runId: string;
      /** The wave that starts after the pause, named as everywhere (`batch 2/4`, domain/wave-name.ts). */
      readonly nextWave: string;
      /** Epoch ms when the pause ends. */
      readonly until: number;
      readonly ms: number;
      readonly at: number;
    }
  | {
      readonly type: 'stage_started';
      readonly runId: string;
      readonly stage: number;
      readonly op: string;
      readonly batch?: number;
      readonly at: number;
    }
  | {
      readonly type: 'command_status';
      readonly runId: string;
      readonly commandId: string;
      readonly hostId: string;
      readonly op: string;
      readonly stage: number;
      readonly status: CommandStatus;
      readonly attempt: number;
      readonly exitCode: number | null;
      readonly error: string | null;
      readonly durationMs: number | null;
      /** For a rollback, the command it undoes (CORE-009). */
      readonly rollbackOf?: string | null;
      /** On a failed command's final status: the rollback about to run (CORE-009). */
      readonly rollbackId?: string;
      /** On an automatic retry (EXECUTING again): why the attempt before failed, redacted, one line (CORE-001). */
      readonly retryReason?: string;
      readonly at: number;
    }
  | {
      /** An armed rollback timer of an op changed state (CORE-009). */
      readonly type: 'armed_rollback';
      readonly runId: string;
      readonly commandId: string;
      readonly hostId: string;
      readonly stage: number;
      readonly delayMs: number;
      readonly state: ArmedState;
      readonly at: number;
    }
  | {
      readonly type: 'command_output';
      readonly runId: string;
      readonly commandId: string;
      readonly hostId: string;
      readonly stage: number;
      readonly chunk: string;
    }
  | { readonly type: 'stage_finished'; readonly runId: string; readonly stage: number; readonly at: number }
  | {
      readonly type: 'run_finished';
      readonly runId: string;
      readonly status: RunStatus;
      /** Why a rollout stopped early (budget exceeded, canary failed); see CORE-008. */
      readonly stopped?: string;
      readonly at: number;
    };

export type RunEventListener = (event: RunEvent) => void;
