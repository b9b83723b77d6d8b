// The fleet file's JSON Schema (schemas/fleet.schema.json) and its validators. The build compiles
// the schema into plain code (scripts/build-validators.mjs, next to this file in dist/ as
// fleet-validators.js), so a start of the CLI loads code instead of compiling the schema with ajv,
// which cost about 100 ms (see CORE-005, performance). Running from the TypeScript sources (tests),
// there is no such file and the schema is compiled here once per process, with the same options.
import { existsSync, readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv/dist/2020.js';

// Both src/config/ (tests) and dist/config/ (the CLI) sit two levels below the package root.
export const SCHEMA_PATH = new URL('../../schemas/fleet.schema.json', import.meta.url);
const PRECOMPILED_PATH = new URL('./fleet-validators.js', import.meta.url);

/** The options both the build and this module compile with (see scripts/build-validators.mjs). */
export const AJV_OPTIONS = { allErrors: true, verbose: true, allowUnionTypes: true, strict: true } as const;

/** Keywords only editors read (yaml-language-server shows `patternErrorMessage` instead of "does
 * not match the pattern"); the CLI words its own messages with the value in them
 * (schema-errors.ts). Declared so that strict mode accepts them. */
export const EDITOR_KEYWORDS = [{ keyword: 'patternErrorMessage', schemaType: 'string' }] as const;

interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}
interface Validators {
  readonly main: Validator;
  readonly included: Validator;
}

let loaded: Promise<Validators> | undefined;

export function readSchemaText(): string {
  return readFileSync(SCHEMA_PATH, 'utf8');
}

async function loadValidators(): Promise<Validators> {
  if (existsSync(PRECOMPILED_PATH)) return (await import(PRECOMPILED_PATH.href)) as Validators;
  return compileValidators();
}

/** Compiles the schema at run time: allErrors reports every problem at once; verbose keeps the
 * failing schema so messages can name the allowed properties and values. */
export async function compileValidators(): Promise<Validators> {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const schema = JSON.parse(readSchemaText()) as { $id: string };
  const ajv = new Ajv2020(AJV_OPTIONS);
  for (const keyword of EDITOR_KEYWORDS) ajv.addKeyword(keyword);
  const main = ajv.compile(schema);
  const included = ajv.getSchema(`${schema.$id}#/$defs/includedFile`);
  if (!included) throw new Error('schemas/fleet.schema.json has no $defs/includedFile');
  return { main, included };
}

export async function validateAgainstSchema(data: unknown, kind: 'main' | 'included'): Promise<readonly ErrorObject[]> {
  loaded ??= loadValidators();
  const validate = (await loaded)[kind];
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
