// Entry for browsers and other fetch-API runtimes (the `browser` and `default` conditions): the
// wasm is fetched next to this module (bundlers rewrite `new URL(..., import.meta.url)`).
import init, * as wasm from '../dist/wasm/gatepass_node.js';
import { createGatepass } from './server.js';

await init({ module_or_path: new URL('../dist/wasm/gatepass_node_bg.wasm', import.meta.url) });

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
