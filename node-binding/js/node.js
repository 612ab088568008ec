// Entry for Node (ESM, `import 'gatepass'`): the wasm is read from disk and instantiated
// synchronously, so importing the package is enough.
import { readFileSync } from 'node:fs';
import { initSync } from '../dist/wasm/gatepass_node.js';
import { createNodeCrypto } from './nodecrypto.js';
import { useSigner } from './signer.js';

initSync({ module: readFileSync(new URL('../dist/wasm/gatepass_node_bg.wasm', import.meta.url)) });
// Signatures through node:crypto rather than WebCrypto (nodecrypto.js).
useSigner(createNodeCrypto());

export * from './exports.js';
