// Which WebSocket upgrades are let through (see CORE-004): a browser page may only connect from
// the server's own origin; tools that send no Origin (curl, scripts, tests) still need the token.
import type { IncomingMessage } from 'node:http';

export function isOriginAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  try {
    const parsed = new URL(origin);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host === host.toLowerCase();
  } catch {
    return false;
  }
}
