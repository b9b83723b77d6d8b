// A fleet whose ops print planted secrets every way a command can (see CORE-010), and the search
// the secrets tests run over everything nixfleet keeps or shows.
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../support/cli.js';

export const TOKEN = 'Tok3n-Abcdef-0123456789';
export const KEY_LINES = ['-----BEGIN TEST KEY-----', 'MIIEpAIBAAKCAQEAsecretline', '-----END TEST KEY-----'];
export const KEY = KEY_LINES.join('\n');
export const FROM_COMMAND = 'cmd-out-Zq9xW2vR7pL4';

/** Every string that must appear nowhere: each value and each line of the multi-line one. */
export const FORBIDDEN = [TOKEN, KEY, ...KEY_LINES.slice(1, 2), FROM_COMMAND];

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Ops that print the secrets whole, split across two writes, line by line and through env. */
export function secretOps(): string {
  return `  whole:
    run: printf 'token=%s\\n' {{ secret.token }}; printf '%s' {{ secret.token }} >&2; printf 'sha=%s\\n' "$(printf '%s' {{ secret.token }} | sha256sum | cut -c1-64)"
  split:
    run: v={{ secret.token }}; rest="\${v#??????}"; printf '%s' "\${v%"$rest"}"; sleep 0.3; printf '%s\\n' "$rest"; printf '%s' "\${v%"$rest"}" >&2; sleep 0.3; printf '%s\\n' "$rest" >&2
  multi:
    run: printf '%s\\n' {{ secret.key }}; printf '%s\\n' {{ secret.key }} | sed -n 2p; printf 'keysha=%s\\n' "$(printf '%s' {{ secret.key }} | sha256sum | cut -c1-64)"
  viaenv:
    run: echo "$AUTH"; printf 'cmd=%s\\n' {{ secret.fromcmd }}
    env: { AUTH: "Bearer {{ secret.fromcmd }} on {{ host.name }}" }
  fail:
    run: printf 'failing with %s\\n' {{ secret.token }}; exit 3
`;
}

export function secretFleet(hosts: string, extra = ''): string {
  return `version: 1
settings:
  defaultPipeline: leak
secrets:
  token: { env: NF_TEST_TOKEN, description: the deploy token }
  key: { file: secrets/key.pem }
  fromcmd: { command: "cat secrets/cmd-value.txt" }
hosts:
${hosts}
ops:
${secretOps()}${extra}
pipelines:
  leak:
    ops: [whole, split, multi, viaenv]
`;
}

/** A temp dir with the fleet and its secret files (mode 600). */
export function secretFleetDir(fleet: string): string {
  const dir = makeTempDir({
    'fleet.yaml': fleet,
    'secrets/key.pem': `${KEY}\n`,
    'secrets/cmd-value.txt': `${FROM_COMMAND}\n`,
  });
  chmodSync(join(dir, 'secrets/key.pem'), 0o600);
  return dir;
}

/** Every file under `dir`, recursively (the data directory: SQLite, its WAL, logs, ssh). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

/** Where any forbidden value occurs: `label` for texts, the path for files (searched as raw bytes). */
export function leaks(texts: Record<string, string>, files: readonly string[] = []): string[] {
  const found: string[] = [];
  for (const [label, text] of Object.entries(texts)) {
    for (const value of FORBIDDEN) if (text.includes(value)) found.push(`${label} contains ${JSON.stringify(value)}`);
  }
  for (const file of files) {
    if (!statSync(file).isFile()) continue;
    const bytes = readFileSync(file);
    for (const value of FORBIDDEN) {
      if (bytes.includes(Buffer.from(value, 'utf8'))) found.push(`${file} contains ${JSON.stringify(value)}`);
    }
  }
  return found;
}
