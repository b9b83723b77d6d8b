// A transport that keeps a run's secrets in (see CORE-010): every exec through it gets the
// secret variables handed over privately, and everything that comes back (output on each pipe,
// a transport failure) is redacted before anyone sees it. The op, its checks, its rollback and
// an armed rollback's timer scripts all go through the same wrapper, so none can leak a value.
// Output stays bytes (CORE-001, output): it is searched for each value's UTF-8 bytes, never decoded.
import type { ExecOptions, ExecResult, OutputChunk, Transport } from '../types.js';
import { bytePatterns, createRedactor, type Redactor, redactText } from './secret-redactor.js';

export function withSecrets(
  transport: Transport,
  privateEnv: Readonly<Record<string, string>>,
  patterns: readonly string[],
): Transport {
  const hasPrivateEnv = Object.keys(privateEnv).length > 0;
  if (patterns.length === 0 && !hasPrivateEnv) return transport;
  const inBytes = bytePatterns(patterns);
  return {
    ...(transport.startsAtGate === true ? { startsAtGate: true } : {}),
    async exec(command: string, options: ExecOptions): Promise<ExecResult> {
      const onOutput = options.onOutput;
      // One redactor per pipe, flushed when the command ends so nothing held back is lost.
      const redactors = new Map<string, Redactor>();
      const result = await transport.exec(command, {
        ...options,
        ...(hasPrivateEnv ? { privateEnv: { ...options.privateEnv, ...privateEnv } } : {}),
        // Without a value to look for, the output passes untouched.
        ...(onOutput === undefined || inBytes.length === 0
          ? {}
          : {
              onOutput: (chunk: OutputChunk, stream?: 'stdout' | 'stderr') => {
                const key = stream ?? 'merged';
                let redactor = redactors.get(key);
                if (!redactor) {
                  redactor = createRedactor(inBytes);
                  redactors.set(key, redactor);
                }
                const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
                const text = bytes.toString('latin1');
                const safe = redactor.push(text);
                // Mostly nothing was held or hidden: the chunk's own bytes go on, not a copy.
                if (safe === text) onOutput(bytes, stream);
                else if (safe !== '') onOutput(Buffer.from(safe, 'latin1'), stream);
              },
            }),
      });
      for (const [key, redactor] of redactors) {
        const rest = redactor.flush();
        if (rest !== '')
          onOutput?.(Buffer.from(rest, 'latin1'), key === 'merged' ? undefined : (key as 'stdout' | 'stderr'));
      }
      return result.transportError === undefined
        ? result
        : { ...result, transportError: redactText(result.transportError, patterns) };
    },
    close: () => transport.close(),
  };
}
