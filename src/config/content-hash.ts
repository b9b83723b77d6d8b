// A fleet's content hash (sha256 of its files' paths and texts), which runs journal (CORE-003).
// Apart from the compiler so that a registry read back from the fleet cache (CORE-005,
// start-up) computes it the same way without loading the compiler.

/**
 * The files' sha256, computed when first read. `validate`, `plan` and `list` never read it, and
 * loading `node:crypto` for it took 2-5 ms of their start (CORE-005, start-up). Only the paths
 * and texts are kept for it (not the parsed documents), and they are let go once it is known.
 */
export function lazyHash(files: readonly { readonly path: string; readonly text: string }[]): () => string {
  let pending: typeof files | undefined = files;
  let value: string | undefined;
  return () => {
    if (pending !== undefined) {
      value = contentHash(pending);
      pending = undefined;
    }
    return value as string;
  };
}

function contentHash(files: readonly { readonly path: string; readonly text: string }[]): string {
  // Not imported: in the bundle an import of a built-in is taken when the module loads
  // (scripts/bundle-cli.mjs), which would load node:crypto at every start again.
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  for (const source of files) {
    hash.update(source.path);
    hash.update('\0');
    hash.update(source.text);
    hash.update('\0');
  }
  return hash.digest('hex');
}
