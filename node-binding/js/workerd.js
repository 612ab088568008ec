// Entry for Cloudflare Workers (workerd): a `.wasm` import is a compiled WebAssembly.Module
// there (wrangler's default rule; a `wasm = embed "..."` module in a workerd config.capnp).
import wasmModule from '../dist/wasm/gatepass_node_bg.wasm';
import { initSync } from '../dist/wasm/gatepass_node.js';

initSync({ module: wasmModule });

export * from './exports.js';
