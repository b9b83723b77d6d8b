// `--help` text generated from the command table and each command's option specs (see CORE-002,
// the command line), so a flag cannot exist without being listed and described.
import type { CommandModule, OptionSpecs } from './command.js';

export interface CommandSummary {
  readonly summary: string;
}

export function topLevelHelp(commands: Readonly<Record<string, CommandSummary>>, globals: OptionSpecs): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    'nixfleet: declarative operations across a fleet of hosts',
    '',
    'usage: nixfleet [global options] <command> [args]',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`),
    '',
    'global options:',
    ...optionLines(globals),
    '',
    'Run `nixfleet help <command>` (or `nixfleet <command> --help`) for a command’s options.',
    '',
  ].join('\n');
}

export function commandHelp(summary: string, module: CommandModule, globals: OptionSpecs): string {
  const own = Object.keys(module.options);
  return [
    `usage: nixfleet ${module.usage}`,
    '',
    summary,
    ...(module.details?.length ? ['', ...module.details] : []),
    '',
    ...(own.length > 0 ? ['options:', ...optionLines(module.options), ''] : []),
    'global options:',
    ...optionLines(globals),
    '',
  ].join('\n');
}

/** `  -f, --file FILE   the fleet file (...)`, aligned. */
function optionLines(options: OptionSpecs): string[] {
  const heads = Object.entries(options).map(([flag, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
    return [`${short}--${flag}${value}`, spec.description] as const;
  });
  const width = Math.max(...heads.map(([head]) => head.length));
  return heads.map(([head, description]) => `  ${head.padEnd(width)}  ${description}`);
}
