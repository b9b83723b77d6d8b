// Which requests and WebSocket upgrades are let through (see CORE-004). A browser page may only
// connect from the server's own origin; tools that send no Origin (curl, scripts, tests) still
// need the token. A server on a loopback address also answers only to a loopback name: a page
// whose own name was made to resolve to 127.0.0.1 (DNS rebinding) sends that name as its Host, and
// its Origin then matches that Host.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** The server's own address, as the Host check needs it. */
export interface ServerAddress {
  readonly bind: string;
  readonly port: number;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * `localhost`, or a loopback address however it is written: `0:0:0:0:0:0:0:1` and
 * `::ffff:127.0.0.1` are loopback too (BlockList compares addresses, not strings).
 */
export function isLoopback(bind: string): boolean {
  if (bind === 'localhost') return true;
  const family = isIP(bind);
  return family !== 0 && LOOPBACK.check(bind, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * On a loopback address, only `localhost`, `127.0.0.1`, `[::1]` or the bind address itself with
 * the server's port; on any other address every Host (the server cannot know the names it is
 * reached by).
 */
export function isHostAllowed(req: IncomingMessage, server: ServerAddress): boolean {
  if (!isLoopback(server.bind)) return true;
  const host = req.headers.host?.toLowerCase();
  if (host === undefined) return false;
  const bindName = server.bind.includes(':') ? `[${server.bind}]` : server.bind;
  const names = new Set(['localhost', '127.0.0.1', '[::1]', bindName]);
  const ports = server.port === 80 ? [':80', ''] : [`:${server.port}`];
  return [...names].some((name) => ports.some((port) => host === `${name}${port}`));
}

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
