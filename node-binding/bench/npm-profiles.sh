#!/usr/bin/env bash
# Benchmark (not a test): the package as it ships (Cargo.toml's [profile.npm]: opt-level "z",
# then binaryen's wasm-opt -Oz) against the same code built with the release profile
# (opt-level 3, no wasm-opt), in one Node process (bench/builds.mjs: end to end and the wasm
# alone). What the smaller .wasm costs per request.
#   bash node-binding/bench/npm-profiles.sh [seconds-per-case]      (default 8)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

bash node-binding/build.sh >&2
out="$(mktemp -d /tmp/gatepass-profiles.XXXXXX)"
trap 'rm -rf "$out"' EXIT
cargo build -q -p gatepass-node --target wasm32-unknown-unknown --release
mkdir -p "$out/release/dist"
cp -r node-binding/js node-binding/package.json "$out/release/"
wasm-bindgen --target web --out-dir "$out/release/dist/wasm" \
  target/wasm32-unknown-unknown/release/gatepass_node.wasm
for dir in "$out/release" node-binding; do
  wasm="$dir/dist/wasm/gatepass_node_bg.wasm"
  echo "$dir: $(wc -c <"$wasm") bytes, $(gzip -9c "$wasm" | wc -c) gzip -9"
done
node node-binding/bench/builds.mjs "${1:-8}" "$out/release" node-binding
