// Entry for browsers and other fetch-API runtimes (the `browser` and `default` conditions): the
// wasm is fetched next to this module (bundlers rewrite `new URL(..., import.meta.url)`).
import init from '../dist/wasm/gatepass_node.js';

await init({ module_or_path: new URL('../dist/wasm/gatepass_node_bg.wasm', import.meta.url) });

export * from './exports.js';
