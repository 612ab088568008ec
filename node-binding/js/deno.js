// Entry for Deno: the wasm comes in as a compiled WebAssembly.Module through a source-phase
// import (`import source`), which, like any static import, needs no permission (reading the
// file with Deno.readFile or fetch would need --allow-read). Tested with Deno 2.9.
import source wasmModule from '../dist/wasm/gatepass_node_bg.wasm';
import { initSync } from '../dist/wasm/gatepass_node.js';

initSync({ module: wasmModule });

export * from './exports.js';
