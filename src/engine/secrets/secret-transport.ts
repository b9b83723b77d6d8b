// A transport that keeps a run's secrets in (see CORE-010): every exec through it gets the
// secret variables handed over privately, and everything that comes back (output on each pipe,
// a transport failure) is redacted before anyone sees it. The op, its checks, its rollback and
// an armed rollback's timer scripts all go through the same wrapper, so none can leak a value.
import type { ExecOptions, ExecResult, Transport } from '../types.js';
import { createRedactor, type Redactor, redactText } from './secret-redactor.js';

export function withSecrets(
  transport: Transport,
  privateEnv: Readonly<Record<string, string>>,
  patterns: readonly string[],
): Transport {
  const hasPrivateEnv = Object.keys(privateEnv).length > 0;
  if (patterns.length === 0 && !hasPrivateEnv) return transport;
  return {
    async exec(command: string, options: ExecOptions): Promise<ExecResult> {
      const onOutput = options.onOutput;
      // One redactor per pipe, flushed when the command ends so nothing held back is lost.
      const redactors = new Map<string, Redactor>();
      const result = await transport.exec(command, {
        ...options,
        ...(hasPrivateEnv ? { privateEnv: { ...options.privateEnv, ...privateEnv } } : {}),
        ...(onOutput === undefined
          ? {}
          : {
              onOutput: (chunk: string, stream?: 'stdout' | 'stderr') => {
                const key = stream ?? 'merged';
                let redactor = redactors.get(key);
                if (!redactor) {
                  redactor = createRedactor(patterns);
                  redactors.set(key, redactor);
                }
                const safe = redactor.push(chunk);
                if (safe !== '') onOutput(safe, stream);
              },
            }),
      });
      for (const [key, redactor] of redactors) {
        const rest = redactor.flush();
        if (rest !== '') onOutput?.(rest, key === 'merged' ? undefined : (key as 'stdout' | 'stderr'));
      }
      return result.transportError === undefined
        ? result
        : { ...result, transportError: redactText(result.transportError, patterns) };
    },
    close: () => transport.close(),
  };
}
