// Checks the schema cannot express (see CORE-005, semantic checks): references between hosts, ops
// and pipelines, selectors, settings that name things, and options that only make sense together.

import { didYouMean } from '../domain/closest-name.js';
import { MAX_ENV_STRING_BYTES } from '../domain/environment-limits.js';
import type { ConfigError } from '../errors/config-error.js';
import { resolveSelector, type SelectableHost } from '../registry/selector.js';
import { checkDurations } from './duration-checks.js';
import type { PipelineFile } from './fleet-file.js';
import { errorAt } from './located-error.js';
import type { FleetEntry, MergedFleet } from './merged-fleet.js';
import { checkPlaceholderQuoting } from './placeholder-quoting-checks.js';
import { checkRollout } from './rollout-checks.js';
import { checkSecrets } from './secret-checks.js';
import { varEnvName } from './template.js';
import { checkTemplates } from './template-checks.js';
import { quoteExcerpt } from './value-excerpt.js';

const SSH_ONLY = ['user', 'port', 'identityFile'] as const;

export function checkFleet(fleet: MergedFleet): ConfigError[] {
  return [
    ...checkHosts(fleet),
    ...checkOps(fleet),
    ...checkPipelines(fleet),
    ...checkSettings(fleet),
    ...checkSecrets(fleet),
    ...checkDurations(fleet),
    ...checkTemplates(fleet),
    ...checkPlaceholderQuoting(fleet),
  ];
}

export function selectableHosts(fleet: MergedFleet): SelectableHost[] {
  return [...fleet.hosts.values()].map((entry) => ({ id: entry.id, tags: entry.value.tags ?? [] }));
}

function checkHosts(fleet: MergedFleet): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const { id, value, source } of fleet.hosts.values()) {
    errors.push(...checkVarNames(id, value.vars ?? {}, source));
    errors.push(...checkVarSizes(id, value.vars ?? {}, source));
    if ((value.transport ?? 'local') === 'ssh') {
      errors.push(...checkSshWords(id, value, source));
      continue;
    }
    for (const field of SSH_ONLY) {
      if (value[field] === undefined) continue;
      errors.push(
        errorAt(
          source,
          ['hosts', id, field],
          'key',
          `\`${field}\` applies only to ssh hosts, and \`${id}\` is local`,
          `set \`transport: ssh\` on \`${id}\`, or remove \`${field}\``,
        ),
      );
    }
  }
  return errors;
}

/**
 * ssh reads an address or a user that starts with `-` as an option (`-oProxyCommand=…`): nixfleet
 * passes them after `--` and `-l`, and ssh refuses them at run time, as it refuses one that holds a
 * space or a control character, but that is a fleet file mistake, so validate says so where it is
 * (CORE-005, CORE-007).
 */
function checkSshWords(id: string, host: { address?: string; user?: string }, source: FleetEntry<unknown>['source']) {
  const errors: ConfigError[] = [];
  for (const field of ['address', 'user'] as const) {
    const word = host[field];
    if (typeof word !== 'string') continue;
    const alone = `write the ${field === 'address' ? 'host name or IP address' : 'user name'} alone`;
    const refuse = (message: string, hint: string) =>
      errors.push(
        errorAt(source, ['hosts', id, field], 'value', `${quoteExcerpt(word)} ${message}`, `${alone}${hint}`),
      );
    if (word.startsWith('-')) {
      refuse(
        'starts with `-`: ssh would read it as an option, and refuses it',
        '; put ssh options in an ssh_config file',
      );
    } else if (/[\s\p{Cc}]/u.test(word)) {
      // `127.0.0.1 -p 22` passed validate, then every command failed with ssh's `hostname
      // contains invalid characters`, which names neither the host nor the value.
      refuse(
        `holds a space or a control character, which ssh refuses in a ${field === 'address' ? 'host name' : 'user name'}`,
        ': a port goes in `port:`, other ssh options in an ssh_config file',
      );
    }
  }
  return errors;
}

/** Each var travels as `NIXFLEET_VAR_<KEY>=value`, which must fit in one environment string. */
function checkVarSizes(id: string, vars: Readonly<Record<string, unknown>>, source: FleetEntry<unknown>['source']) {
  const errors: ConfigError[] = [];
  for (const [key, value] of Object.entries(vars)) {
    if (typeof value !== 'string') continue;
    const name = varEnvName(key);
    const most = MAX_ENV_STRING_BYTES - name.length - 2;
    const bytes = Buffer.byteLength(value);
    if (bytes <= most) continue;
    errors.push(
      errorAt(
        source,
        ['hosts', id, 'vars', key],
        'value',
        `the value is ${bytes} bytes; as \`${name}\` it can hold at most ${most} (Linux holds one environment variable to 128 KiB), so every command on \`${id}\` would fail to start`,
        'keep a large value in a file on the host and pass its path as the var',
      ),
    );
  }
  return errors;
}

/** Two keys that become the same `NIXFLEET_VAR_<KEY>` (`a-b`, `a_b`, `A_B`): one would silently win. */
function checkVarNames(id: string, vars: Readonly<Record<string, unknown>>, source: FleetEntry<unknown>['source']) {
  const errors: ConfigError[] = [];
  const firstKey = new Map<string, string>();
  for (const key of Object.keys(vars)) {
    const name = varEnvName(key);
    const first = firstKey.get(name);
    if (first === undefined) {
      firstKey.set(name, key);
      continue;
    }
    errors.push(
      errorAt(
        source,
        ['hosts', id, 'vars', key],
        'key',
        `\`vars.${key}\` and \`vars.${first}\` of \`${id}\` both become the variable \`${name}\`, and one would hide the other`,
        'rename one of them: a key is upper-cased and its `-` become `_` in the environment',
      ),
    );
  }
  return errors;
}

function checkOps(fleet: MergedFleet): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const { id, value, source } of fleet.ops.values()) {
    if ((value.retries ?? 0) > 0 && value.retryable !== true) {
      errors.push(
        errorAt(
          source,
          ['ops', id, 'retries'],
          'key',
          `op \`${id}\` sets \`retries\` but is not retryable`,
          'add `retryable: true` if the op is safe to run again, or remove `retries`',
        ),
      );
    }
  }
  return errors;
}

function checkPipelines(fleet: MergedFleet): ConfigError[] {
  const errors: ConfigError[] = [];
  const hosts = selectableHosts(fleet);
  for (const entry of fleet.pipelines.values()) {
    const { id, value, source } = entry;
    const clash = fleet.ops.get(id);
    if (clash) {
      errors.push(
        errorAt(
          source,
          ['pipelines', id],
          'key',
          `pipeline \`${id}\` has the same id as the op declared at ${clash.source.displayPath}:${clash.position.line}:${clash.position.column}`,
          `\`nixfleet apply ${id}\` would be ambiguous; rename the pipeline or the op`,
        ),
      );
    }
    for (const [index, opId] of value.ops.entries()) {
      if (fleet.ops.has(opId)) continue;
      errors.push(
        errorAt(
          source,
          ['pipelines', id, 'ops', index],
          'value',
          `unknown op \`${opId}\` in pipeline \`${id}\``,
          didYouMean(opId, fleet.ops.keys()) ?? 'declare it under `ops:`',
        ),
      );
    }
    errors.push(...checkPipelineSelector(entry, hosts));
    errors.push(...checkRollout(fleet, entry, hosts));
  }
  return errors;
}

function checkPipelineSelector(entry: FleetEntry<PipelineFile>, hosts: readonly SelectableHost[]): ConfigError[] {
  const { id, value, source } = entry;
  if (value.hosts === undefined) return [];
  const path = ['pipelines', id, 'hosts'];
  if (typeof value.hosts === 'string') {
    const result = resolveSelector(hosts, value.hosts);
    return result.ok ? [] : [errorAt(source, path, 'value', result.message, result.hint)];
  }
  const errors: ConfigError[] = [];
  for (const [index, term] of value.hosts.entries()) {
    // Each term alone first, so an unknown name points at its own list item.
    const result = resolveSelector(hosts, term);
    if (!result.ok && !result.message.endsWith('matches no host')) {
      errors.push(errorAt(source, [...path, index], 'value', result.message, result.hint));
    }
  }
  if (errors.length > 0) return errors;
  const whole = resolveSelector(hosts, value.hosts.join(','));
  return whole.ok ? [] : [errorAt(source, path, 'value', whole.message, whole.hint)];
}

function checkSettings(fleet: MergedFleet): ConfigError[] {
  const target = fleet.settings.defaultPipeline;
  if (target === undefined || fleet.pipelines.has(target) || fleet.ops.has(target)) return [];
  return [
    errorAt(
      fleet.main,
      ['settings', 'defaultPipeline'],
      'value',
      `unknown pipeline \`${target}\``,
      didYouMean(target, [...fleet.pipelines.keys(), ...fleet.ops.keys()]) ?? 'declare it under `pipelines:`',
    ),
  ];
}

/** Pipeline hosts as one selector string (a list is its terms joined by commas). */
export function selectorText(hosts: PipelineFile['hosts']): string | undefined {
  if (hosts === undefined) return undefined;
  return typeof hosts === 'string' ? hosts : hosts.join(',');
}
