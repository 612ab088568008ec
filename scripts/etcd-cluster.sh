#!/usr/bin/env bash
# A local 3-member etcd cluster for envoy/token-endpoint-etcd.yaml (README, "Running many
# instances"): installs Debian's etcd-server if missing, starts the members on 127.0.0.1 with
# client ports 2379, 22379 and 32379 (data in a new temporary directory), and stops them on
# Ctrl-C. The fleet tests start their own cluster on free ports (tests/envoy/etcd.py).
#
#   bash scripts/etcd-cluster.sh [--ports 2379,22379,32379] [--dir DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/install-deb.sh" etcd=etcd-server
exec python3 "$root/tests/envoy/etcd.py" "$@"
