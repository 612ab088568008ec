#!/usr/bin/env bash
# Builds the npm package `gatepass` (node-binding/ is the package root) into node-binding/dist/:
#   dist/wasm/  wasm-bindgen --target web output (the ESM glue + gatepass_node_bg.wasm), used by
#               the node, workerd, deno and browser entries;
#   dist/cjs/   CommonJS copies of the glue and of js/*.js for `require('gatepass')`, made by
#               scripts/make-cjs.mjs (they load the same .wasm file).
# Idempotent: installs the wasm32 target, wasm-bindgen-cli 0.2.130 and binaryen only when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

WASM_BINDGEN_VERSION=0.2.130
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the `wasm-bindgen = "=0.2.130"` crate exactly (the glue and the wasm's
# custom section must agree). No --locked: it fails against this registry (DESIGN.md).
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# binaryen's wasm-opt (filter/package.json), if missing.
bash scripts/setup.sh >&2

# Cargo.toml's [profile.npm] (built for size), without the core's `fast-ed25519` and
# `rsa-keygen` features (node-binding/Cargo.toml): Ed25519 tables and the RSA prime search stay
# out of the package; the runtime makes RSA keys (js/keys.js).
cargo build -q -p gatepass-node --target wasm32-unknown-unknown --profile npm

rm -rf "$here/dist"
wasm-bindgen --target web --out-dir "$here/dist/wasm" \
  target/wasm32-unknown-unknown/npm/gatepass_node.wasm
# -Oz: binaryen's size passes (a third smaller than cargo's output); no names section. The
# features are the ones rustc's wasm32-unknown-unknown target emits.
wasm="$here/dist/wasm/gatepass_node_bg.wasm"
filter/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-multivalue --enable-reference-types "$wasm" -o "$wasm.tmp"
mv "$wasm.tmp" "$wasm"

node "$here/scripts/make-cjs.mjs"

wasm_bytes=$(wc -c <"$here/dist/wasm/gatepass_node_bg.wasm")
wasm_gzip=$(gzip -9c "$here/dist/wasm/gatepass_node_bg.wasm" | wc -c)
echo "gatepass: built node-binding/dist (gatepass_node_bg.wasm: $wasm_bytes bytes, $wasm_gzip gzip -9)"
