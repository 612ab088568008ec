#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of one access-token verification: the bare signature
# primitive, the whole core verifier, and the core without its signature step. Deterministic,
# so the ratio does not depend on machine load. Usage: bench/instructions.sh [ALG ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deb.sh valgrind
cargo build -q --release -p gatepass-core --example overhead
bin=target/release/examples/overhead
algs=("$@"); [ ${#algs[@]} -gt 0 ] || algs=(EdDSA ES256 RS256)
count() { # mode alg n -> total instructions
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$1" "$2" "$3" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"; rm -f "$out"
}
N=50
printf '%-6s %16s %16s %16s %10s %12s\n' alg primitive/op core/op parse+claims/op core/prim parse/prim
for alg in "${algs[@]}"; do
  base=$(count primitive "$alg" 0)
  p=$(( ($(count primitive "$alg" $N) - base) / N ))
  c=$(( ($(count core "$alg" $N) - base) / N ))
  o=$(( ($(count parse "$alg" $N) - base) / N ))
  awk -v a="$alg" -v p="$p" -v c="$c" -v o="$o" 'BEGIN { printf "%-6s %16d %16d %16d %9.3fx %11.1f%%\n", a, p, c, o, c/p, 100*o/p }'
done
