// Compiles schemas/fleet.schema.json into plain validation code at build time (ajv's standalone
// output), so the CLI does not compile the schema at every start (see CORE-005, performance).
// Writes dist/config/fleet-validators.js; src/config/schema.ts loads it when present and
// compiles the schema itself only when it is not (tests that run the TypeScript sources).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(resolve(root, 'schemas/fleet.schema.json'), 'utf8'));
// Runs after tsc: the options are the ones the sources compile with, plus code generation.
const { AJV_OPTIONS, EDITOR_KEYWORDS } = await import('../dist/config/schema.js');
const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true, esm: true } });
for (const keyword of EDITOR_KEYWORDS) ajv.addKeyword(keyword);
ajv.addSchema(schema);
let code = standaloneCode.default(ajv, { main: schema.$id, included: `${schema.$id}#/$defs/includedFile` });
// ajv's ES module output still loads its runtime helpers with require(); turn each into an import.
const requires = [...new Set(code.match(/require\("[^"]+"\)/g) ?? [])];
const imports = requires.map((call, i) => `import runtime${i} from ${call.slice(8, -2)}.js";`);
for (const [i, call] of requires.entries()) code = code.replaceAll(`${call}.default`, `runtime${i}.default`);
code = code.replace('"use strict";', `"use strict";${imports.join('')}`);
const out = resolve(root, 'dist/config/fleet-validators.js');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);
