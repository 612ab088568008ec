#!/usr/bin/env bash
# Builds the npm package `gatepass` and runs its tests: node --test (ESM and CJS entry points,
# interop with jose and oauth4webapi, the Redis stores on a real redis-server).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."

bash node-binding/build.sh
(cd node-binding && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
# The Node fleet test (test/fleet.test.js) starts its own redis-server on loopback.
bash scripts/install-deb.sh redis-server redis-cli=redis-tools
node --test node-binding/test/
