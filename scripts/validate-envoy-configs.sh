#!/usr/bin/env bash
# Validates every Envoy config in envoy/ with the real Envoy: renders it (envoy/render.py fills
# the demo-key placeholders into a temp dir) and runs `envoy --mode validate -c`, which loads the
# filter's .wasm and runs its on_configure; then the same for its native twin (`render.py
# --shell native`: the native module in place of the proxy-wasm filter, loaded from
# $ENVOY_DYNAMIC_MODULES_SEARCH_PATH). Then shows that a bad plugin config is refused by both shells:
# config (a) with `"issuer"` misspelt `"isuer"` must fail validation, and Envoy's output must
# name the field. Exits non-zero on any failure.
#
#   bash scripts/validate-envoy-configs.sh            # builds the filter and the module first
#   GATEPASS_FILTER_WASM=path bash scripts/validate-envoy-configs.sh   # use that .wasm, no build
#   GATEPASS_NATIVE_SO=path ...                        # use that native module, no build
#   GATEPASS_DEMO_KEYS=dir ...                         # keys other than envoy/demo-keys
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/envoy.sh
envoy="$root/.venv/bin/envoy"
python="$root/.venv/bin/python"

# artifact OVERRIDE BUILD_SCRIPT: the file $OVERRIDE names, else what BUILD_SCRIPT builds (it
# prints the path); fails when it does not exist.
artifact() {
  local path="${!1:-}"
  if [[ -z "$path" ]]; then
    path="$(bash "$2")"
  fi
  if [[ ! -f "$path" ]]; then
    echo "validate-envoy-configs.sh: $path not found" >&2
    exit 1
  fi
  echo "$path"
}
wasm="$(artifact GATEPASS_FILTER_WASM scripts/build-filter.sh)"
native_so="$(artifact GATEPASS_NATIVE_SO scripts/build-native.sh)"
keys="${GATEPASS_DEMO_KEYS:-$root/envoy/demo-keys}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Envoy loads the native module as libgatepass.so from this directory.
mkdir "$tmp/modules"
cp "$native_so" "$tmp/modules/libgatepass.so"
export ENVOY_DYNAMIC_MODULES_SEARCH_PATH="$tmp/modules"

failed=0

# validate NAME FILE: runs envoy --mode validate, output in $tmp/NAME.log; returns Envoy's status.
validate() {
  local name="$1" file="$2"
  "$envoy" --mode validate -c "$file" -l info >"$tmp/$name.log" 2>&1
}

# Envoy's own lines at warning and above, without the info noise.
problems() {
  grep -E '\]\[(warning|error|critical)\]' "$1" | sed 's/^\[[^]]*\]\[[0-9]*\]//' || true
}

for shell in proxy-wasm native; do
  for config in envoy/*.yaml; do
    name="$(basename "$config" .yaml)-$shell"
    label="$config ($shell)"
    rendered="$tmp/$name.yaml"
    status=0
    "$python" envoy/render.py "$config" --keys "$keys" --wasm "$wasm" --shell "$shell" -o "$rendered" \
      2>"$tmp/$name.render" || status=$?
    if ((status != 0)); then
      echo "FAIL  $label: could not render:" >&2
      sed 's/^/      /' "$tmp/$name.render" >&2
      failed=1
      continue
    fi
    if validate "$name" "$rendered"; then
      echo "ok    $label"
    else
      echo "FAIL  $label: envoy --mode validate refused it:" >&2
      problems "$tmp/$name.log" | sed 's/^/      /' >&2
      failed=1
    fi
  done

  # A bad plugin config must be refused, and the refusal must name the field.
  bad="$tmp/bad-field-$shell.yaml"
  "$python" envoy/render.py envoy/enforce-local-jwks.yaml --keys "$keys" --wasm "$wasm" --shell "$shell" -o "$bad"
  sed -i '0,/"issuer":/s//"isuer":/' "$bad"
  grep -q '"isuer":' "$bad" || { echo "FAIL  could not make the misspelt config" >&2; exit 1; }
  if validate "bad-field-$shell" "$bad"; then
    echo "FAIL  ($shell) a plugin config with the misspelt field \"isuer\" passed validation" >&2
    failed=1
  elif ! grep -q 'isuer' "$tmp/bad-field-$shell.log"; then
    echo "FAIL  ($shell) the misspelt config was refused, but Envoy's output does not name the field \"isuer\":" >&2
    problems "$tmp/bad-field-$shell.log" | sed 's/^/      /' >&2
    failed=1
  else
    echo "ok    ($shell) a misspelt plugin field (\"isuer\") is refused, and named:"
    grep -m1 'isuer' "$tmp/bad-field-$shell.log" | sed 's/^\[[^]]*\]\[[0-9]*\]//; s/^/      /' | cut -c1-220
  fi
done

exit "$failed"
