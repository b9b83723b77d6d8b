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

/** The loopback names, already spelled as a URL spells them. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * On a loopback address, only `localhost`, `127.0.0.1`, `[::1]` or the bind address itself with
 * the server's port; on any other address every Host (the server cannot know the names it is
 * reached by).
 */
export function isHostAllowed(req: IncomingMessage, server: ServerAddress): boolean {
  if (!isLoopback(server.bind)) return true;
  const host = hostOf(req.headers.host);
  if (host === undefined || host.port !== (server.port === 80 ? '' : String(server.port))) return false;
  const bindName = server.bind.includes(':') ? `[${server.bind}]` : server.bind;
  // Compared as a URL spells them: a browser sends `--bind ::ffff:127.0.0.1` as `[::ffff:7f00:1]`.
  return LOOPBACK_NAMES.includes(host.name) || hostOf(bindName)?.name === host.name;
}

/** A Host header's name and port as a URL spells them (port '' for 80), or undefined if it is no host. */
function hostOf(header: string | undefined): { name: string; port: string } | undefined {
  if (header === undefined) return undefined;
  try {
    const url = new URL(`http://${header}`);
    const bare =
      url.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === '';
    return bare ? { name: url.hostname, port: url.port } : undefined;
  } catch {
    return undefined;
  }
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
