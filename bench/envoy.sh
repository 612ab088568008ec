#!/usr/bin/env bash
# Envoy throughput benchmark: gatepass next to Envoy's jwt_authn (not a test; numbers depend on
# the machine and on whatever else runs on it).
#
#   bash bench/envoy.sh                  # all contenders, 10 s each (+2 s warm-up), about 2 min
#   bash bench/envoy.sh -d 3             # shorter runs
#   bash bench/envoy.sh --million        # also Envoy's memory before/after 1,000,000 requests
#   bash bench/envoy.sh --contenders gatepass,jwt_authn_cache
#   bash bench/envoy.sh --help           # every option (bench/envoy_bench.py)
#
# Installs wrk (Debian package) if missing, Envoy and the Python dependencies into .venv
# (scripts/envoy.sh), builds the filter (scripts/build-filter.sh, which also installs binaryen)
# and the native module (scripts/build-native.sh),
# then runs bench/envoy_bench.py with the arguments given.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-deb.sh wrk

bash scripts/envoy.sh

bash scripts/build-filter.sh >/dev/null
bash scripts/build-native.sh >/dev/null

exec "$root/.venv/bin/python" "$root/bench/envoy_bench.py" "$@"
