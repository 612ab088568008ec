// Entry for Node's `require('gatepass')`. The wasm-bindgen `--target web` glue is ESM, so the
// build (scripts/make-cjs.mjs) makes CommonJS copies of it and of js/*.js in dist/cjs/; they
// load the same .wasm file, synchronously.
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { initSync } = require('../dist/cjs/gatepass_node.cjs');

initSync({ module: readFileSync(path.join(__dirname, '..', 'dist', 'wasm', 'gatepass_node_bg.wasm')) });
// Signatures through node:crypto rather than WebCrypto (nodecrypto.js).
require('../dist/cjs/signer.cjs').useSigner(require('../dist/cjs/nodecrypto.cjs').createNodeCrypto());

module.exports = require('../dist/cjs/exports.cjs');
