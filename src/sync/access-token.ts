// The token that guards everything but the static page (see CORE-004).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** 32 random bytes, URL-safe, so it can ride in `?token=` unescaped. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison; hashing first makes the lengths equal, so length leaks nothing either. */
export function tokensMatch(given: string | undefined, expected: string): boolean {
  if (given === undefined || given.length === 0) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The token a request carries: `Authorization: Bearer T`, or `?token=T` where a header cannot be
 * set (a browser's WebSocket, a link to an output file). An `Authorization` of another scheme is
 * not ours: a browser adds `Basic …` on its own behind a proxy that asks for a login.
 */
export function tokenOf(req: IncomingMessage, url: URL, options: { allowQuery: boolean }): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined && /^Bearer(\s|$)/i.test(header)) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  return options.allowQuery ? (url.searchParams.get('token') ?? undefined) : undefined;
}
