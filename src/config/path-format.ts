// How a location inside the fleet file is named in messages: `ops.pull.timeout`,
// `pipelines.do-all.ops[1]` (see CORE-005, errors), and the file itself: relative to the working
// directory when it is below it.
import { isAbsolute, relative } from 'node:path';

/** One step of a path into the fleet file: a mapping key or a sequence index. */
export type PathSegment = string | number;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

export function displayPathFor(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
