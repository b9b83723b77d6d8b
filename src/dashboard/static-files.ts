// The dashboard's files, served as they are (no build step). They live in src/dashboard/static
// and are found from the package root, so the same code works run from src/ (tests) and from
// dist/ (the installed CLI); package.json ships that directory.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<package root>/src/dashboard/static`; this file is `<root>/{src,dist}/dashboard/static-files.*`. */
export const STATIC_DIR = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'src/dashboard/static');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** Plain names only: no directories, no dotfiles, so a request can never leave STATIC_DIR. */
const SAFE_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

export async function readStaticFile(name: string, dir = STATIC_DIR): Promise<StaticFile | undefined> {
  const match = SAFE_NAME.exec(name);
  if (!match) return undefined;
  try {
    return { body: await readFile(join(dir, name)), contentType: CONTENT_TYPES[match[1]!]! };
  } catch {
    return undefined;
  }
}
