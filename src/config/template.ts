// Templating of op commands (see CORE-005): `{{ host.name }}`, `{{ host.address }}`,
// `{{ host.user }}`, `{{ host.vars.KEY }}`, `{{ op.id }}`, `{{ pipeline.id }}`, and
// `{{ secret.NAME }}`, which never renders to its value in a command line (see CORE-010).
// Parsing is checked when the registry compiles; rendering happens when a plan is built.

import { didYouMean } from '../domain/closest-name.js';
import { shellQuote } from '../domain/shell-quote.js';
import type { Host } from '../registry/types.js';
import { secretReference } from './secret-reference.js';

export type TemplateRef =
  | { readonly kind: 'host.name' | 'host.address' | 'host.user' | 'op.id' | 'pipeline.id' }
  | { readonly kind: 'host.vars'; readonly key: string }
  | { readonly kind: 'secret'; readonly name: string };

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'ref'; readonly ref: TemplateRef; readonly offset: number; readonly text: string };

/** A problem inside a template string; offset and length are in the string as the user wrote it. */
export interface TemplateProblem {
  readonly offset: number;
  readonly length: number;
  readonly message: string;
  readonly hint?: string;
}

export interface ParsedTemplate {
  readonly parts: readonly TemplatePart[];
  readonly problems: readonly TemplateProblem[];
}

const FIXED_NAMES = ['host.name', 'host.address', 'host.user', 'op.id', 'pipeline.id'] as const;
/** Every name a placeholder may use, as a hint lists them. */
const KNOWN_NAMES = [...FIXED_NAMES, 'host.vars.KEY', 'secret.NAME'];
export const VAR_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$';
const VAR_KEY = new RegExp(VAR_KEY_PATTERN);
const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** `NIXFLEET_VAR_<KEY>`: the key upper-cased, `-` as `_` (CORE-005). */
export function varEnvName(key: string): string {
  return `NIXFLEET_VAR_${key.toUpperCase().replaceAll('-', '_')}`;
}

export function parseTemplate(source: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  let cursor = 0;
  while (cursor < source.length) {
    const open = source.indexOf('{{', cursor);
    if (open === -1) break;
    if (open > cursor) parts.push({ kind: 'text', text: source.slice(cursor, open) });
    const close = source.indexOf('}}', open + 2);
    if (close === -1) {
      problems.push({
        offset: open,
        length: 2,
        message: '`{{` is never closed',
        hint: 'placeholders look like `{{ host.name }}`',
      });
      return { parts, problems };
    }
    const text = source.slice(open, close + 2);
    const name = source.slice(open + 2, close).trim();
    const ref = refFor(name);
    if (ref) parts.push({ kind: 'ref', ref, offset: open, text });
    else problems.push({ offset: open, length: text.length, ...unknownNameProblem(name) });
    cursor = close + 2;
  }
  if (cursor < source.length) parts.push({ kind: 'text', text: source.slice(cursor) });
  return { parts, problems };
}

function refFor(name: string): TemplateRef | undefined {
  if ((FIXED_NAMES as readonly string[]).includes(name)) return { kind: name as (typeof FIXED_NAMES)[number] };
  if (name.startsWith('host.vars.')) {
    const key = name.slice('host.vars.'.length);
    if (VAR_KEY.test(key)) return { kind: 'host.vars', key };
  }
  if (name.startsWith('secret.')) {
    const secret = name.slice('secret.'.length);
    if (SECRET_NAME.test(secret)) return { kind: 'secret', name: secret };
  }
  return undefined;
}

function unknownNameProblem(name: string): { message: string; hint?: string } {
  if (name === '') return { message: 'empty placeholder `{{ }}`', hint: 'placeholders look like `{{ host.name }}`' };
  // `host.id` is nearer to `op.id` than to `host.name` by letters, but a name under `host.` means
  // the host: suggest only from the namespace the name starts with, when it is one we have.
  const namespace = `${name.split('.')[0]}.`;
  const sameNamespace = KNOWN_NAMES.filter((candidate) => candidate.startsWith(namespace));
  const hint =
    didYouMean(name, sameNamespace.length > 0 ? sameNamespace : KNOWN_NAMES) ??
    `known names: ${KNOWN_NAMES.join(', ')}`;
  return { message: `unknown template name \`${name}\``, hint };
}

/** The names of the secrets a template uses, in order of first use. */
export function secretNames(parsed: ParsedTemplate): string[] {
  const names: string[] = [];
  for (const part of parsed.parts) {
    if (part.kind === 'ref' && part.ref.kind === 'secret' && !names.includes(part.ref.name)) names.push(part.ref.name);
  }
  return names;
}

export function refName(ref: TemplateRef): string {
  if (ref.kind === 'host.vars') return `host.vars.${ref.key}`;
  if (ref.kind === 'secret') return `secret.${ref.name}`;
  return ref.kind;
}

export interface TemplateValues {
  /** Undefined for `runsOn: controller` ops, which cannot use host names (checked at compile time). */
  readonly host?: Host;
  readonly opId: string;
  readonly pipelineId: string;
  /** Secret values by name: only when a value itself is wanted (`literal` mode at exec time). */
  readonly secrets?: Readonly<Record<string, string>>;
}

/**
 * How substituted values are written: shell-quoted for command lines, literal for cwd and env.
 * In `shell` mode a secret is a quoted variable reference, never its value (see CORE-010).
 */
export type SubstitutionMode = 'shell' | 'literal';

export type RenderResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly missing: string };

export function renderTemplate(parsed: ParsedTemplate, values: TemplateValues, mode: SubstitutionMode): RenderResult {
  let out = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    if (part.ref.kind === 'secret' && mode === 'shell') {
      out += secretReference(part.ref.name);
      continue;
    }
    const value = substitutedValue(part.ref, values);
    if (value === undefined) return { ok: false, missing: refName(part.ref) };
    out += mode === 'shell' ? shellQuote(value) : value;
  }
  return { ok: true, value: out };
}

function substitutedValue(ref: TemplateRef, values: TemplateValues): string | undefined {
  switch (ref.kind) {
    case 'op.id':
      return values.opId;
    case 'pipeline.id':
      return values.pipelineId;
    case 'host.name':
      return values.host?.id;
    case 'host.address':
      return values.host?.address;
    case 'host.user':
      return values.host?.user;
    case 'host.vars':
      return values.host?.vars[ref.key];
    case 'secret':
      return values.secrets?.[ref.name];
  }
}
