// The package's one export list. Every entry (node.js, node.cjs, workerd.js, deno.js,
// browser.js) initializes the wasm module its runtime's way and re-exports this module; nothing
// here calls the wasm before that.

import * as wasm from '../dist/wasm/gatepass_node.js';
import { createGatepass } from './gatepass.js';

const api = createGatepass(wasm);

export const AuthorizationServer = api.AuthorizationServer;
export const verifyAccessToken = api.verifyAccessToken;
export const mintAccessToken = api.mintAccessToken;
export const generateSigningKey = api.generateSigningKey;
export const generateSigningKeyAsync = api.generateSigningKeyAsync;
export const publicJwks = api.publicJwks;
export const hashClientSecret = api.hashClientSecret;
export const generateClientSecret = api.generateClientSecret;
export { GatepassError } from './errors.js';
export { MemoryClientStore, MemoryReplayStore } from './stores.js';
export { KVClientStore, DurableObjectReplayStore, ReplayGuard } from './cloudflare.js';
export { RedisClientStore, RedisReplayStore } from './redis.js';
