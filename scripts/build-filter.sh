#!/usr/bin/env bash
# Builds the Envoy filter as it ships, into target/envoy/gatepass_filter.wasm (printed on stdout):
#
#   1. cargo build -p gatepass-filter --target wasm32-wasip1 --profile filter
#      (Cargo.toml's [profile.filter]: the release profile built for size, except the
#      signature arithmetic), then
#   2. binaryen's wasm-opt (filter/package.json; scripts/setup.sh installs it) with the flags
#      below: the ABI callbacks the filter never uses removed, -Oz, no names section.
#
# Every script, test and config that loads the filter uses that path (tests/envoy/harness.py,
# envoy/render.py, envoy/*.yaml). bench/filter-size.sh measures this build against other
# settings (README, Performance).
#
#   bash scripts/build-filter.sh                   # build (quick when nothing changed)
#   bash scripts/build-filter.sh --wasm-opt-flags  # print the wasm-opt flags, one per line
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The proxy-wasm SDK exports a callback for every event of the ABI. The filter is an HTTP filter
# that makes no gRPC calls, uses no shared queues, registers no foreign functions and is no
# network filter, so Envoy never calls these; a module without them loads (bench/noop-filter.wat
# has none), and once they are gone -Oz drops the SDK code behind them: 7 KB. A filter that
# starts using one of these must take it off this list.
UNUSED_EXPORTS="proxy_on_grpc_*,proxy_on_queue_ready,proxy_on_foreign_function,proxy_on_new_connection"
UNUSED_EXPORTS+=",proxy_on_downstream_*,proxy_on_upstream_*"
# -Oz: binaryen's size passes (12 % smaller than cargo's stripped output; V8 runs it no slower).
# --one-caller-inline-max-function-size 16: -Oz would otherwise inline every function that has
# one caller, into functions of up to 37 KB; Envoy's V8 compiles every function with TurboFan
# when it loads the module, and needs much more memory for one large function than for the same
# code in pieces, and Envoy keeps that memory (README, "Size and memory of the Envoy filter"): without the limit, 3.5 MiB more RSS and a .wasm 100 bytes larger.
WASM_OPT_FLAGS=(
  --remove-exports --pass-arg="remove-exports@$UNUSED_EXPORTS"
  -Oz --one-caller-inline-max-function-size 16
  --strip-debug --strip-producers
)

if [[ "${1:-}" == "--wasm-opt-flags" ]]; then
  # For bench/filter-size.sh: the flags, one per line.
  printf '%s\n' "${WASM_OPT_FLAGS[@]}"
  exit 0
fi

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
