// What every renderer offers the command that drives a run (see CORE-002, renderers).

import type { OutputStream } from '../domain/output-stream.js';
import type { RunEventListener } from '../engine/types.js';

export interface RunRenderer {
  readonly onEvent: RunEventListener;
  /** Resolves once everything is drawn (the TTY tree's last frame). */
  finish(): Promise<void>;
  /**
   * Prints a line of its own without breaking what is drawn (the tty frame redraws below it), on
   * `to` (stderr, for errors) or else the renderer's own stream.
   */
  log?(text: string, to?: OutputStream): void;
}

export type RendererName = 'auto' | 'tty' | 'plain' | 'json';
export const RENDERER_NAMES: readonly RendererName[] = ['auto', 'tty', 'plain', 'json'];

/**
 * `auto`: json with --json, the live terminal view in a terminal, plain lines without a TTY or with CI
 * set (CORE-002).
 */
export function resolveRenderer(
  requested: RendererName,
  context: { json: boolean; isTTY: boolean; env: NodeJS.ProcessEnv },
): Exclude<RendererName, 'auto'> {
  if (requested !== 'auto') return requested;
  if (context.json) return 'json';
  const isCI = context.env.CI !== undefined && context.env.CI !== '' && context.env.CI !== 'false';
  return context.isTTY && !isCI ? 'tty' : 'plain';
}
