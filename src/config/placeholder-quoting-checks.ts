// Compile-time check that every placeholder in `run`, `precheck`, `postcheck` and `rollback` stands in a bare
// word, where its shell-quoted value is exactly one word (see CORE-005, templating). Inside quotes,
// a here-document, a comment or behind `\` or `$` the quoting would not hold, so those are errors
// with the fix, never rendered.

import type { ConfigError } from '../errors/config-error.js';
import { isEvaluatedContext } from './bash-evaluation.js';
import type { OpFile } from './fleet-file.js';
import type { FleetEntry, MergedFleet } from './merged-fleet.js';
import { AFTER_ANSI_ESCAPED_QUOTE, type UnsafeContext, unsafePlaceholders } from './shell-context.js';
import { refName, type TemplateRef, varEnvName } from './template.js';
import { at as errorAtPlaceholder, templateFields } from './template-checks.js';

const COMMAND_FIELDS = new Set(['run', 'precheck', 'postcheck', 'rollback']);

export function checkPlaceholderQuoting(fleet: MergedFleet): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const op of fleet.ops.values()) errors.push(...checkOp(op));
  return errors;
}

function checkOp(op: FleetEntry<OpFile>): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const field of templateFields(op)) {
    if (!COMMAND_FIELDS.has(String(field.path[field.path.length - 1]))) continue;
    const refs = field.parsed.parts.flatMap((part) => (part.kind === 'ref' ? [part] : []));
    if (refs.length === 0) continue;
    const unsafe = unsafePlaceholders(
      field.text,
      refs.map((ref) => ({ offset: ref.offset, length: ref.text.length })),
    );
    for (const ref of refs) {
      const context = unsafe.get(ref.offset);
      if (context === undefined) continue;
      errors.push(
        errorAtPlaceholder(
          op,
          field,
          ref.text,
          ref.offset,
          `\`${ref.text}\` is ${context}, where its quoted value could run as code`,
          hintFor(context, ref.ref),
        ),
      );
    }
  }
  return errors;
}

/** The same value as an environment variable, which is safe in every position. */
function environmentFor(ref: TemplateRef): string {
  switch (ref.kind) {
    case 'host.name':
      return '"$NIXFLEET_HOST"';
    case 'op.id':
      return '"$NIXFLEET_OP"';
    case 'pipeline.id':
      return '"$NIXFLEET_PIPELINE"';
    case 'host.vars':
      return `"$${varEnvName(ref.key)}"`;
    default:
      return `"$NAME" with \`env: { NAME: "{{ ${refName(ref)} }}" }\``;
  }
}

function hintFor(context: UnsafeContext, ref: TemplateRef): string {
  const viaEnv = `use ${environmentFor(ref)} there instead`;
  switch (context) {
    case 'inside double quotes':
    case 'inside single quotes':
    case "inside `$'...'` quotes":
      return `write it outside the quotes (its value is quoted for you and stays one word: \`echo {{ ${refName(ref)} }}\`), or ${viaEnv}`;
    case 'inside backquotes':
      return `use \`$(...)\` instead of backquotes, or ${viaEnv}`;
    case AFTER_ANSI_ESCAPED_QUOTE:
      return `write that quote as \`'\\''\` in plain single quotes (\`'it'\\''s'\`), which every shell reads alike, or ${viaEnv}`;
    case 'inside `$((...))` arithmetic':
    case 'inside `((...))` arithmetic':
    case 'inside `$[...]` arithmetic':
      // A variable is no safer there: bash evaluates its value as an expression too, and runs the
      // `$(...)` of `a[$(...)]` in it (CORE-005).
      return `${viaEnv}, once it is checked to be a number (\`case ${environmentFor(ref)} in ''|*[!0-9]*) exit 2;; esac\`): bash evaluates a value in arithmetic as an expression and runs any \`$(...)\` in it`;
    default:
      if (isEvaluatedContext(context)) {
        // CORE-005: where bash evaluates a word (bash-evaluation.ts), as for arithmetic above.
        return `${viaEnv}, once it is checked to be a plain number or name (\`case ${environmentFor(ref)} in ''|*[!A-Za-z0-9_]*) exit 2;; esac\`): bash evaluates it as arithmetic or a variable's name there and runs the \`$(...)\` of \`a[$(...)]\` in it`;
      }
      return viaEnv;
  }
}
