// The fleet file's JSON Schema (schemas/fleet.schema.json), compiled once per process with ajv.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

// Both src/config/ (tests) and dist/config/ (the CLI) sit two levels below the package root.
export const SCHEMA_PATH = new URL('../../schemas/fleet.schema.json', import.meta.url);

let compiled: { main: ValidateFunction; included: ValidateFunction; schema: SchemaDocument } | undefined;

export interface SchemaDocument {
  readonly $id: string;
  readonly [key: string]: unknown;
}

export function readSchemaText(): string {
  return readFileSync(SCHEMA_PATH, 'utf8');
}

function validators() {
  if (!compiled) {
    const schema = JSON.parse(readSchemaText()) as SchemaDocument;
    // allErrors: report every problem at once; verbose: keep the failing schema so messages can
    // name the allowed properties and values.
    const ajv = new Ajv2020({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
    // For editors (yaml-language-server shows it instead of "does not match the pattern"); the CLI
    // words its own messages with the value in them (schema-errors.ts).
    ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
    const main = ajv.compile(schema);
    const included = ajv.getSchema(`${schema.$id}#/$defs/includedFile`);
    if (!included) throw new Error('schemas/fleet.schema.json has no $defs/includedFile');
    compiled = { main, included, schema };
  }
  return compiled;
}

export function validateAgainstSchema(data: unknown, kind: 'main' | 'included'): readonly ErrorObject[] {
  const validate = validators()[kind];
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
