// Errors cross from the PostgreSQL worker thread to the caller as plain data and come back as the
// same classes the SQLite journal throws (HostsBusyError, AlreadyRetriedError, IllegalTransitionError, …), so callers
// catch them the same way whichever engine runs (see CORE-012).
import { IllegalTransitionError } from '../../domain/status.js';
import { AlreadyRetriedError } from '../already-retried-error.js';
import { HostsBusyError } from '../hosts-busy-error.js';
import { RecordNotFoundError } from '../record-not-found-error.js';

export interface EncodedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly props: Record<string, unknown>;
}

const CLASSES: Record<string, { prototype: Error }> = {
  AlreadyRetriedError,
  HostsBusyError,
  IllegalTransitionError,
  RecordNotFoundError,
  RangeError,
  TypeError,
};

export function encodeError(error: unknown): EncodedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), props: {} };
  const props: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key !== 'name' && key !== 'message' && key !== 'stack') props[key] = structuredCloneable(value);
  }
  return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), props };
}

export function decodeError(encoded: EncodedError): Error {
  const error = Object.assign(new Error(encoded.message), encoded.props);
  Object.setPrototypeOf(error, (CLASSES[encoded.name] ?? Error).prototype);
  error.name = encoded.name;
  if (encoded.stack) error.stack = encoded.stack;
  return error;
}

function structuredCloneable(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return String(value);
  }
}

/**
 * A lost or refused connection (a system error, SQLSTATE class 08, or a server shutting down),
 * not a bug: the worker retries a read on it (pg-worker-entry.ts), the caller gets
 * StoreUnavailableError (postgres-journal.ts).
 */
export function isConnectionLoss(error: {
  readonly name: string;
  readonly message: string;
  readonly code?: unknown;
}): boolean {
  const code = typeof error.code === 'string' ? error.code : '';
  if (/^E[A-Z]+$/.test(code) || code.startsWith('08') || code.startsWith('57P0')) return true;
  return error.name === 'Error' && /connection|not queryable/i.test(error.message);
}
