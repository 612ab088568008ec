#!/usr/bin/env bash
# The Envoy token endpoint with its replay store in etcd against one Envoy's own store, both
# shells (bench/fleet_bench.py; README, "Running many instances"). Installs wrk and etcd (Debian
# packages) and Envoy if missing; builds the filter and the module unless $GATEPASS_FILTER_WASM /
# $GATEPASS_NATIVE_SO name them.
#
#   bash bench/fleet-bench.sh [--rounds 3] [--duration 5] [--assertions 150000] [--etcd-dir DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deb.sh wrk etcd=etcd-server
bash scripts/envoy.sh
exec "$root/.venv/bin/python" "$root/bench/fleet_bench.py" "$@"
