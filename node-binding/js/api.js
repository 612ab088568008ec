// Re-exports shared by every ESM entry: everything that does not need the wasm.
export { GatepassError } from './errors.js';
export { MemoryClientStore, MemoryReplayStore } from './stores.js';
export { KVClientStore, DurableObjectReplayStore, ReplayGuard } from './cloudflare.js';
