// The HTTP API of `nixfleet serve` (see CORE-004). Every /api route needs the
// token: the mutating ones because they act, the reading ones because state and output may hold
// secrets the socket (which needs the token too) would not give away either.
import { closeSync, createReadStream } from 'node:fs';
import { isAbsolute } from 'node:path';
import { readStaticFile } from '../dashboard/static-files.js';
import { openRegularFile } from '../domain/regular-file.js';
import { UserError } from '../errors/user-error.js';
import { HostsBusyError } from '../store/hosts-busy-error.js';
import { outputOutsideText, outputPieces } from '../store/output-reader.js';
import type { Journal } from '../store/types.js';
import { tokenOf, tokensMatch } from './access-token.js';
import { sendError, sendJson } from './http-response.js';
import { HttpRouter, type RouteContext, type RouteHandler } from './http-router.js';
import { readJsonBody } from './json-body.js';
import type { ApplyRequest, CancelRequest, RunDispatcher } from './run-dispatcher.js';
import { readSnapshot, type SnapshotLimits } from './state-snapshot.js';

export interface ApiOptions {
  readonly journal: Journal;
  readonly token: string;
  readonly dispatcher?: RunDispatcher;
  readonly snapshotLimits: SnapshotLimits;
  /** Where unexpected errors are reported (they are bugs; the client only sees a 500). */
  readonly reportError: (error: unknown) => void;
}

export function createApiRouter(options: ApiOptions): HttpRouter {
  const { journal, dispatcher } = options;
  const guarded = (handler: RouteHandler, allowQueryToken = false): RouteHandler => {
    return (ctx) => {
      if (!tokensMatch(tokenOf(ctx.req, ctx.url, { allowQuery: allowQueryToken }), options.token)) {
        ctx.res.setHeader('WWW-Authenticate', 'Bearer realm="nixfleet"');
        return sendError(ctx.res, 401, 'missing or wrong token', {
          hint: 'send Authorization: Bearer <token> (the token printed by `nixfleet serve`)',
        });
      }
      return handler(ctx);
    };
  };

  const staticFile = (name: string): RouteHandler => {
    return async ({ res }) => {
      const file = await readStaticFile(name);
      if (!file) return sendError(res, 404, `no such file: ${name}`);
      res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Length': file.body.length });
      res.end(file.body);
    };
  };

  return new HttpRouter()
    .add('GET', '/', staticFile('index.html'))
    .add('GET', '/assets/:name', (ctx) => staticFile(ctx.params.name ?? '')(ctx))
    .add(
      'GET',
      '/api/state',
      guarded(({ res }) => sendJson(res, 200, readSnapshot(journal, options.snapshotLimits))),
    )
    .add(
      'POST',
      '/api/apply',
      guarded(async ({ req, res }) => {
        const body = await readJsonBody(req);
        if (!body.ok) return sendError(res, body.status, body.error);
        const request = applyRequestOf(body.value);
        if (typeof request === 'string') return sendError(res, 400, request);
        if (!dispatcher) return sendError(res, 503, 'this server cannot start runs (no fleet file loaded)');
        try {
          sendJson(res, 202, await dispatcher.apply(request));
        } catch (error) {
          sendFailure(res, error, options.reportError);
        }
      }),
    )
    .add(
      'POST',
      '/api/runs/:id/cancel',
      guarded(async ({ req, res, params }) => {
        const body = await readJsonBody(req);
        if (!body.ok) return sendError(res, body.status, body.error);
        const request = cancelRequestOf(body.value);
        if (typeof request === 'string') return sendError(res, 400, request);
        if (!dispatcher) return sendError(res, 503, 'this server cannot cancel runs (no fleet file loaded)');
        const runId = params.id ?? '';
        try {
          const run = dispatcher.cancel(runId, request);
          if (!run) return sendError(res, 404, `no run ${runId}`, { hint: 'see `nixfleet runs` for run ids' });
          sendJson(res, 202, {
            runId: run.id,
            status: run.status,
            cancelRequested: run.cancelRequested,
            killRequested: run.killRequested,
            killHosts: run.killHosts,
          });
        } catch (error) {
          sendFailure(res, error, options.reportError);
        }
      }),
    )
    .add(
      'POST',
      '/api/runs/:id/retry',
      guarded(async ({ req, res, params }) => {
        const body = await readJsonBody(req);
        if (!body.ok) return sendError(res, body.status, body.error);
        const refusal = retryRequestRefusal(body.value);
        if (refusal !== undefined) return sendError(res, 400, refusal.error, { hint: refusal.hint });
        if (!dispatcher) return sendError(res, 503, 'this server cannot start runs (no fleet file loaded)');
        const runId = params.id ?? '';
        if (!journal.getRun(runId)) {
          return sendError(res, 404, `no run ${runId}`, { hint: 'see `nixfleet runs` for run ids' });
        }
        try {
          const result = await dispatcher.retry(runId);
          if ('nothing' in result) return sendError(res, 409, result.nothing);
          sendJson(res, 202, { runId: result.runId, retryOf: runId });
        } catch (error) {
          sendFailure(res, error, options.reportError);
        }
      }),
    )
    .add(
      'GET',
      '/api/commands/:id/output',
      guarded((ctx) => streamOutput(ctx, journal), true),
    );
}

/** Retry takes no options: its body, when there is one, is `{}`. */
function retryRequestRefusal(value: unknown): { error: string; hint: string } | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) {
    return undefined;
  }
  return {
    error: 'retry takes no options: send no body, or {}',
    hint: 'rerunning ops not marked retryable (--force) is only offered by `nixfleet retry ID --force`',
  };
}

function applyRequestOf(value: unknown): ApplyRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the body must be a JSON object {"target": "...", "on": "...", "rollback": false}';
  }
  const { target, on, rollback } = value as Record<string, unknown>;
  if (rollback !== undefined && typeof rollback !== 'boolean') return '`rollback` must be true or false';
  for (const [name, field] of [
    ['target', target],
    ['on', on],
  ] as const) {
    if (field !== undefined && field !== null && (typeof field !== 'string' || field.length > 1000)) {
      return `\`${name}\` must be a string`;
    }
  }
  const request: { target?: string; on?: string; rollback?: false } = {};
  if (typeof target === 'string' && target.trim() !== '') request.target = target.trim();
  if (typeof on === 'string' && on.trim() !== '') request.on = on.trim();
  if (rollback === false) request.rollback = false;
  return request;
}

/** `{}` cancels, `{"kill": true}` kills the run's running commands, with `"host"` only that host's (CORE-011). */
function cancelRequestOf(value: unknown): CancelRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the body must be a JSON object: {}, {"kill": true} or {"kill": true, "host": "HOST"}';
  }
  const { kill, host } = value as Record<string, unknown>;
  if (kill !== undefined && typeof kill !== 'boolean') return '`kill` must be true or false';
  if (host !== undefined && (typeof host !== 'string' || host === '' || host.length > 1000)) {
    return '`host` must be a host id';
  }
  if (host !== undefined && kill !== true) return '`host` needs `"kill": true` (a single host can only be killed)';
  return { ...(kill === true ? { kill: true } : {}), ...(typeof host === 'string' ? { hostId: host } : {}) };
}

function sendFailure(res: RouteContext['res'], error: unknown, reportError: (error: unknown) => void): void {
  // By name, as ConfigErrors below: the bundle (scripts/bundle-cli.mjs) shares only the classes
  // of src/errors and src/store between its files.
  if (error instanceof Error && error.name === 'ServerStoppingError') {
    sendError(res, 503, error.message, {
      hint: 'the runs it started are being cancelled; start the run again once `nixfleet serve` runs again',
    });
  } else if (error instanceof HostsBusyError) {
    sendError(res, 409, error.message, {
      busy: error.busy,
      hint: 'wait for the running pipeline to finish, or cancel it',
    });
  } else if (error instanceof UserError) {
    sendError(res, 400, error.message, error.hint === undefined ? {} : { hint: error.hint });
  } else if (error instanceof Error && error.name === 'ConfigErrors') {
    sendError(res, 400, error.message);
  } else {
    reportError(error);
    sendError(res, 500, 'internal error (see the server output)');
  }
}

/** Streams the command's output file; output never passes through memory in bulk (specs/README.md, decision 6). */
async function streamOutput({ res, params, url }: RouteContext, journal: Journal): Promise<void> {
  const commandId = params.id ?? '';
  const command = journal.getCommand(commandId);
  if (!command) return sendError(res, 404, `no command ${commandId}`);
  // A row naming a file outside logs/ has no output to send (CORE-003): said as `nixfleet logs`
  // says it, where an empty 200 looked like a command that printed nothing (CORE-004).
  if (command.outputOutside !== undefined) {
    return sendError(res, 404, outputOutsideText(commandId, command.outputOutside));
  }
  const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' };
  if (command.outputFile === null) {
    res.writeHead(200, { ...headers, 'Content-Length': 0 });
    res.end();
    return;
  }
  // PostgreSQL keeps output in the database (CORE-012): read it through the journal, by range.
  if (!isAbsolute(command.outputFile)) return sendStoredOutput(res, url, journal, commandId, headers);
  // Opened once, without waiting, and only if it is a regular file: a FIFO or a device in its
  // place must neither stall the response nor stream without end (CORE-003, output files).
  const opened = openRegularFile(command.outputFile);
  if ('error' in opened) {
    return sendError(res, 404, `the output of ${commandId} is gone (retention removes old output files)`);
  }
  if ('not' in opened) return sendError(res, 500, `the output of ${commandId} is ${opened.not}, not a file`);
  const size = opened.stat.size;
  // `?tail=N`: only the last N bytes (the page's live tail starts from there).
  const tail = Number(url.searchParams.get('tail'));
  const start = Number.isInteger(tail) && tail > 0 ? Math.max(0, size - tail) : 0;
  // Only what exists now: a file still being written must not make the response endless.
  res.writeHead(200, { ...headers, 'Content-Length': size - start });
  if (size === start) {
    closeSync(opened.fd);
    res.end();
    return;
  }
  const stream = createReadStream('', { fd: opened.fd, start, end: size - 1 });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** Bytes of output sent per journal read: the response never holds a large output whole. */
const OUTPUT_PIECE_BYTES = 256 * 1024;

async function sendStoredOutput(
  res: RouteContext['res'],
  url: URL,
  journal: Journal,
  commandId: string,
  headers: Record<string, string>,
): Promise<void> {
  const size = journal.outputSize(commandId);
  const tail = Number(url.searchParams.get('tail'));
  const start = Number.isInteger(tail) && tail > 0 ? Math.max(0, size - tail) : 0;
  res.writeHead(200, { ...headers, 'Content-Length': size - start });
  for (const piece of outputPieces(journal, commandId, { start, end: size }, OUTPUT_PIECE_BYTES)) {
    if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
    if (res.destroyed) return;
  }
  res.end();
}
