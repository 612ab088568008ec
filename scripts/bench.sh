#!/usr/bin/env bash
# Core benchmarks (criterion), printed as medians and core/primitive ratios.
# Not part of the test command: numbers depend on the machine. Takes about two minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf target/criterion
cargo bench -p gatepass-core --bench core -- --noplot "$@" 2>&1 | grep -E "^(verify|mint|assertion|overhead)/|time:" || true
python3 bench/report.py target/criterion
