#!/usr/bin/env bash
# Size, memory and speed of the Envoy filter under each build setting, as the README's table
# (not a test; the req/s depend on the machine and on whatever else runs on it):
#
#   bash bench/filter-size.sh                        # every setting, 3 rounds of 3 s runs (~15 min)
#   bash bench/filter-size.sh --settings baseline,filter --rounds 5
#   bash bench/filter-size.sh --no-build             # measure the last builds again
#   bash bench/filter-size.sh --help                 # every option (bench/filter_size.py)
#
# Installs wrk (Debian package) if missing, binaryen (scripts/setup.sh) and Envoy
# (scripts/envoy.sh), then runs bench/filter_size.py, which builds each setting into
# target/filter-size/ and measures it with bench/envoy_bench.py's contenders.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-deb.sh wrk

bash scripts/setup.sh >&2
bash scripts/envoy.sh

exec "$root/.venv/bin/python" "$root/bench/filter_size.py" "$@"
