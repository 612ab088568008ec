// Entry for Cloudflare Workers (workerd): a `.wasm` import is a compiled WebAssembly.Module
// there (wrangler's default rule; a `wasm = embed "..."` module in a workerd config.capnp).
import wasmModule from '../dist/wasm/gatepass_node_bg.wasm';
import * as wasm from '../dist/wasm/gatepass_node.js';
import { createGatepass } from './server.js';

wasm.initSync({ module: wasmModule });

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
