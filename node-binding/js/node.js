// Entry for Node (ESM, `import 'gatepass'`): the wasm is read from disk and instantiated
// synchronously, so importing the package is enough.
import { readFileSync } from 'node:fs';
import * as wasm from '../dist/wasm/gatepass_node.js';
import { createGatepass } from './server.js';

wasm.initSync({ module: readFileSync(new URL('../dist/wasm/gatepass_node_bg.wasm', import.meta.url)) });

export const {
  AuthorizationServer,
  verifyAccessToken,
  mintAccessToken,
  generateSigningKey,
  publicJwks,
  hashClientSecret,
  generateClientSecret,
} = createGatepass(wasm);
export * from './api.js';
