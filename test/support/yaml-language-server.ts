// The real yaml-language-server (the one VS Code's YAML extension, Neovim and Helix run), spoken
// to over stdio as an editor would: open a file, read the diagnostics it publishes. Schemas are
// found only through each file's `# yaml-language-server: $schema=` line; downloads are off, so a
// reference that needs the network shows as a diagnostic.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './cli.js';

export interface Diagnostic {
  readonly message: string;
  readonly severity?: number;
  readonly range: { readonly start: { readonly line: number; readonly character: number } };
}

export interface YamlLanguageServer {
  /** Opens `file` and resolves with the diagnostics published for it once they settle. */
  diagnostics(file: string): Promise<Diagnostic[]>;
  close(): Promise<void>;
}

const SETTINGS = {
  yaml: {
    validate: true,
    hover: false,
    completion: false,
    schemaStore: { enable: false },
    schemaDownload: { enable: false },
  },
};

export async function startYamlLanguageServer(): Promise<YamlLanguageServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/yaml-language-server/bin/yaml-language-server'), '--stdio'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let buffer = Buffer.alloc(0);
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  const published = new Map<string, Diagnostic[][]>();
  const listeners = new Set<() => void>();

  const send = (message: object) => {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
    child.stdin!.write(`Content-Length: ${body.length}\r\n\r\n`);
    child.stdin!.write(body);
  };
  const request = (method: string, params: unknown) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      send({ id, method, params });
    });
  const onMessage = (message: { id?: number; method?: string; params?: unknown; result?: unknown }) => {
    if (message.method === undefined && message.id !== undefined) {
      pending.get(message.id)?.(message.result);
      pending.delete(message.id);
      return;
    }
    if (message.method === 'textDocument/publishDiagnostics') {
      const { uri, diagnostics } = message.params as { uri: string; diagnostics: Diagnostic[] };
      published.set(uri, [...(published.get(uri) ?? []), diagnostics]);
      for (const listener of listeners) listener();
      return;
    }
    if (message.id !== undefined) {
      // Requests from the server: configuration gets our settings, everything else a null.
      const items = (message.params as { items?: { section?: string }[] } | undefined)?.items;
      const result =
        message.method === 'workspace/configuration'
          ? (items ?? []).map((item) => (item.section === 'yaml' ? SETTINGS.yaml : item.section ? null : SETTINGS))
          : null;
      send({ id: message.id, result });
    }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const headerEnd = buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, headerEnd).toString())?.[1]);
      if (buffer.length < headerEnd + 4 + length) return;
      const body = buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      buffer = buffer.subarray(headerEnd + 4 + length);
      onMessage(JSON.parse(body));
    }
  });

  await request('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(ROOT).href,
    capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: {} } },
    initializationOptions: {},
  });
  send({ method: 'initialized', params: {} });
  send({ method: 'workspace/didChangeConfiguration', params: { settings: SETTINGS } });

  return {
    async diagnostics(file) {
      const uri = pathToFileURL(file).href;
      const seen = () => published.get(uri)?.length ?? 0;
      send({
        method: 'textDocument/didOpen',
        params: { textDocument: { uri, languageId: 'yaml', version: 1, text: readFileSync(file, 'utf8') } },
      });
      // The first publication can come before the schema is loaded; take the last of a burst.
      await new Promise<void>((resolve, reject) => {
        let quiet: NodeJS.Timeout | undefined;
        const give = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no diagnostics for ${file}`));
        }, 60_000);
        const check = () => {
          if (seen() === 0) return;
          if (quiet) clearTimeout(quiet);
          quiet = setTimeout(() => {
            listeners.delete(check);
            clearTimeout(give);
            resolve();
          }, 1500);
        };
        listeners.add(check);
        check();
      });
      const all = published.get(uri)!;
      return all[all.length - 1]!;
    },
    async close() {
      await Promise.race([request('shutdown', null), new Promise((r) => setTimeout(r, 2000))]);
      send({ method: 'exit' });
      child.kill();
    },
  };
}
