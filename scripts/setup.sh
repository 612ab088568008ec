#!/usr/bin/env bash
# Installs what `scripts/test.sh` needs on a fresh machine: Rust targets and components via
# rustup, the npm dev dependencies of the interop tests, and binaryen (the Envoy filter's
# wasm-opt, filter/package.json). Idempotent and quiet when there is nothing to do; safe to run
# on every test run (CI runs it from a fresh clone, without stdin).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Rust targets the build needs. wasm32v1-none: the core builds for it to prove it is no_std.
RUST_TARGETS=(wasm32v1-none wasm32-wasip1)
RUST_COMPONENTS=(clippy rustfmt)
NODE_MIN_MAJOR=20
# npm dev dependencies: the interop tests' jose; binaryen (wasm-opt) for the Envoy filter's build.
NPM_DIRS=(tests/interop filter)

did=()

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "setup.sh: '$1' not found on PATH; $2" >&2
    exit 1
  fi
}

need rustup "install Rust with rustup (https://rustup.rs)"
need cargo "install Rust with rustup (https://rustup.rs)"
need node "install Node.js ${NODE_MIN_MAJOR} or newer"
need npm "install npm (ships with Node.js)"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < NODE_MIN_MAJOR)); then
  echo "setup.sh: Node.js ${NODE_MIN_MAJOR}+ required, found $(node --version)" >&2
  exit 1
fi

# Run from the repo root so rustup applies a rust-toolchain.toml, if the project adds one.
installed_targets="$(rustup target list --installed)"
for target in "${RUST_TARGETS[@]}"; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    rustup target add "$target"
    did+=("rust target $target")
  fi
done

# `rustup component list --installed` prints e.g. `clippy-x86_64-unknown-linux-gnu`.
installed_components="$(rustup component list --installed)"
for component in "${RUST_COMPONENTS[@]}"; do
  if ! grep -q "^${component}\(-\|$\)" <<<"$installed_components"; then
    rustup component add "$component"
    did+=("rust component $component")
  fi
done

# npm: `npm ci` when there is a lockfile (exact, reproducible), else `npm install`. A stamp with
# the hash of package.json + package-lock.json skips the reinstall when nothing changed.
for dir in "${NPM_DIRS[@]}"; do
  stamp="$dir/node_modules/.gatepass-setup-stamp"
  want="$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    continue
  fi
  if [[ -f "$dir/package-lock.json" ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    # npm install may have just written the lockfile; hash what is there now.
    want="$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)"
  fi
  echo "$want" >"$stamp"
  did+=("npm packages in $dir")
done

if ((${#did[@]} == 0)); then
  echo "setup.sh: already set up"
else
  printf 'setup.sh: installed %s\n' "$(IFS=,; echo "${did[*]}" | sed 's/,/, /g')"
fi
