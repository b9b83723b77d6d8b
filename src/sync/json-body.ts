// Reads a small JSON request body with a hard size limit (see CORE-004): the API's bodies are a
// few dozen bytes, so anything large is refused before it is buffered.
import type { IncomingMessage } from 'node:http';

export const MAX_JSON_BODY_BYTES = 16 * 1024;

export type JsonBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly error: string };

/**
 * A request with a body (a non-zero Content-Length, or Transfer-Encoding) must say
 * `Content-Type: application/json`; a request without one needs no Content-Type and reads as `{}`
 * (CORE-004). A Content-Type other than JSON is refused either way.
 */
export function readJsonBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<JsonBody> {
  const type = req.headers['content-type'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) !== 0;
  if (type === undefined ? hasBody : !/^application\/json\b/i.test(type)) {
    req.resume();
    return Promise.resolve({
      ok: false,
      status: 415,
      error: 'the body must be JSON, sent with Content-Type: application/json',
    });
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.resolve({ ok: false, status: 413, error: `the body is larger than ${limit} bytes` });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (body: JsonBody) => {
      if (!settled) {
        settled = true;
        resolve(body);
      }
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        settle({ ok: false, status: 413, error: `the body is larger than ${limit} bytes` });
        req.resume();
        return;
      }
      if (!settled) chunks.push(chunk);
    });
    req.on('error', () => settle({ ok: false, status: 400, error: 'the request body could not be read' }));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return settle({ ok: true, value: {} });
      try {
        settle({ ok: true, value: JSON.parse(text) });
      } catch {
        settle({ ok: false, status: 400, error: 'the body is not valid JSON' });
      }
    });
  });
}
