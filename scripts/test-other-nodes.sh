#!/bin/sh
# `npm run test:other-nodes`, after `npm test` (which checks the prerequisites and builds): the
# whole suite again on each other Node major nixfleet supports, with Node from the npm registry
# (scripts/fetch-node.sh). Every `node` the tests start (the CLI, the spawners, the workers) is
# that Node: it is first on PATH. Each major writes its own JUnit report beside `npm test`'s. CI
# runs it (.ci/run): the journal's SQLite driver differs between Node 20 and the newer majors
# (CORE-003, "The SQLite driver"), and a crash there showed only in a full run.
set -eu

failed=
for major in 22 24; do
  sh scripts/fetch-node.sh "$major"
  bin=$PWD/node_modules/.cache/nixfleet-test/node-$major/bin
  if [ ! -x "$bin/node" ]; then
    echo "test:other-nodes: no Node $major (see the line above)" >&2
    exit 1
  fi
  echo "test:other-nodes: the whole suite on Node $("$bin/node" --version)" >&2
  PATH="$bin:$PATH" node node_modules/vitest/vitest.mjs run --reporter=default --reporter=junit \
    --outputFile.junit="test-results/junit-node-$major.xml" || failed="$failed $major"
done
if [ -n "$failed" ]; then
  for major in $failed; do node scripts/junit-failures.mjs "test-results/junit-node-$major.xml" >&2; done
  echo "test:other-nodes: failures on Node$failed" >&2
  exit 1
fi
