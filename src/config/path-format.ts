// How a location inside the fleet file is named in messages: `ops.pull.timeout`,
// `pipelines.do-all.ops[1]` (see CORE-005, errors).
import type { PathSegment } from './yaml-source.js';

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
