// `include:` patterns as globs (see CORE-005, includes): `*`, `?`, `[...]`, `{a,b}` and `**`.
// picomatch turns `(`, `)` and `|` into regular-expression groups even with extglobs off, and
// nested groups of stars (`*(*(*(e*)*)*)*x`) then backtrack for ever against 25-character file
// names, hanging `validate`, `watch` and `serve`. They are escaped here so they only ever match
// themselves, in reading the includes and in watching them alike.

export function includeGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      out += c + (pattern[i + 1] ?? '');
      i++;
    } else out += c === '(' || c === ')' || c === '|' ? `\\${c}` : c;
  }
  return out;
}
