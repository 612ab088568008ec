#!/usr/bin/env bash
# Builds the Envoy filter as it ships, into target/envoy/gatepass_filter.wasm (printed on stdout):
#
#   1. cargo build -p gatepass-filter --target wasm32-wasip1 --profile filter
#      (Cargo.toml's [profile.filter]: the release profile built for size, except the
#      signature arithmetic), then
#   2. binaryen's wasm-opt (filter/package.json; scripts/setup.sh installs it) with the flags
#      below, which also drops the names section.
#
# Every script, test and config that loads the filter uses that path (tests/envoy/harness.py,
# envoy/render.py, envoy/*.yaml). bench/filter-size.sh measures this build against other
# settings (README, Performance).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# -Oz: binaryen's size passes (12 % smaller than cargo's stripped output; V8 runs it no slower).
# --one-caller-inline-max-function-size 16: -Oz would otherwise inline every function that has
# one caller, into functions of up to 37 KB; V8 (which compiles every function when Envoy loads
# the module) needs much more memory for one large function than for the same code in pieces,
# and Envoy keeps that memory: without the limit, 3.5 MiB more RSS and a .wasm 100 bytes larger.
WASM_OPT_FLAGS=(-Oz --one-caller-inline-max-function-size 16 --strip-debug --strip-producers)

# Rust target and binaryen, if missing (quiet when set up).
bash scripts/setup.sh >&2

cargo build -q -p gatepass-filter --target wasm32-wasip1 --profile filter
built="target/wasm32-wasip1/filter/gatepass_filter.wasm"
out="target/envoy/gatepass_filter.wasm"
mkdir -p "$(dirname "$out")"
# wasm-opt takes about half a minute: skip it when neither cargo's output nor the flags changed.
want="$( (sha256sum <"$built"; echo "${WASM_OPT_FLAGS[*]}") | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$out" || ! -f "$out.stamp" || "$(cat "$out.stamp")" != "$want" ]]; then
  filter/node_modules/.bin/wasm-opt "${WASM_OPT_FLAGS[@]}" "$built" -o "$out.tmp"
  mv "$out.tmp" "$out"
  echo "$want" >"$out.stamp"
fi
echo "$root/$out"
