// Durations shorter than 1 ms or longer than nixfleet can wait for (see CORE-005, durations): the
// schema only knows their form, so the bounds are checked here, at the value.
import type { ConfigError } from '../errors/config-error.js';
import { formatDuration, MAX_DURATION_MS, writtenMs } from './duration.js';
import { errorAt } from './located-error.js';
import type { MergedFleet } from './merged-fleet.js';
import type { PathSegment, YamlSource } from './yaml-source.js';

export function checkDurations(fleet: MergedFleet): ConfigError[] {
  const errors: ConfigError[] = [];
  const check = (source: YamlSource, path: readonly PathSegment[], value: unknown) => {
    const ms = writtenMs(value);
    if (ms === 0) {
      // Read as unset, it silently became the default: `timeout: 0.0001s` was ten minutes.
      errors.push(
        errorAt(source, path, 'value', `\`${String(value)}\` is shorter than 1ms`, 'give at least 1ms, e.g. 500ms'),
      );
      return;
    }
    if (ms === undefined || ms <= MAX_DURATION_MS) return;
    const limit = formatDuration(MAX_DURATION_MS);
    errors.push(
      errorAt(
        source,
        path,
        'value',
        `\`${String(value)}\` is longer than ${limit} (24 days), the longest duration nixfleet can wait for`,
        `use at most ${limit}`,
      ),
    );
  };
  check(fleet.main, ['settings', 'ssh', 'connectTimeout'], fleet.settings.ssh?.connectTimeout);
  for (const op of fleet.ops.values()) {
    check(op.source, ['ops', op.id, 'timeout'], op.value.timeout);
    // A rollback's timeout and its armed delay each reach a timer too (CORE-009).
    const rollback = op.value.rollback;
    if (typeof rollback === 'object' && rollback !== null) {
      check(op.source, ['ops', op.id, 'rollback', 'timeout'], rollback.timeout);
      check(op.source, ['ops', op.id, 'rollback', 'armed'], rollback.armed);
    }
  }
  // A rollout's pause (CORE-008) is waited for in short steps, yet past the limit it is no pause a
  // person means, and `plan` spelt it `3.6e+23ms`.
  for (const pipeline of fleet.pipelines.values()) {
    check(pipeline.source, ['pipelines', pipeline.id, 'rollout', 'pause'], pipeline.value.rollout?.pause);
  }
  return errors;
}
