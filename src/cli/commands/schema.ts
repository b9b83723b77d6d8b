// `nixfleet schema`: the fleet file's JSON Schema, for editors and other tools.
import { readSchemaText } from '../../config/schema.js';
import { EXIT } from '../../errors/user-error.js';
import type { CommandContext } from '../command.js';

export const usage = 'schema';
export const options = {};
export const maxPositionals = 0;

export async function run(ctx: CommandContext): Promise<number> {
  const text = readSchemaText();
  ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT.OK;
}
