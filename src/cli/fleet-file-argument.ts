// An argument that names a YAML file where a command takes a target or nothing. People type
// `nixfleet validate prod.yaml` or `nixfleet apply prod.yaml`, as other tools take their file;
// nixfleet takes it with -f, and says so (CORE-002, command line). No pipeline or op id can end in
// `.yaml`: ids are lower-case letters, digits and dashes.
import { shellQuote } from '../domain/shell-quote.js';
import { UserError } from '../errors/user-error.js';

export function looksLikeFleetFile(argument: string): boolean {
  return /\.ya?ml$/i.test(argument);
}

/** The hint for `file` given among `words` where `command` wants no file: the same call with -f. */
export function fleetFileHint(command: string, file: string, words: readonly string[] = [file]): string {
  const others = words.filter((word) => word !== file).map(shellQuote);
  return `the fleet file is given with -f: ${['nixfleet', command, ...others, '-f', shellQuote(file)].join(' ')}`;
}

/** Refuses a target that is a YAML file, before the fleet file is looked for. */
export function refuseFileAsTarget(command: string, target: string | undefined): void {
  if (target === undefined || !looksLikeFleetFile(target)) return;
  throw new UserError(`\`${target}\` is not a pipeline or op: it looks like a fleet file`, {
    hint: `${fleetFileHint(command, target)} [TARGET]`,
  });
}
