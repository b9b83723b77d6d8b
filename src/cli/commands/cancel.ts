// Placeholder until the command lands; replaced by its real implementation.
import { UserError } from '../../errors/user-error.js';
import type { CommandContext } from '../command.js';

export const usage = 'cancel';
export const options = {};
export const maxPositionals = 0;
export async function run(_ctx: CommandContext): Promise<number> {
  throw new UserError('`cancel` is not available in this build yet');
}
