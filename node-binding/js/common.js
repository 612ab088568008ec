// Argument checks shared by the package's modules. Naming rule (README, "Options"): the
// package's own options are camelCase; the `config` and `provider` objects are the JSON formats
// shared with the Envoy filter and the CLI and keep their snake_case field names.

import { GatepassError, fromWasmError } from './errors.js';
import { systemNow } from './stores.js';

export function checkNow(value) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new GatepassError('invalid_request', 'now must give Unix time in seconds');
  }
  return Math.floor(value);
}

/** `now` may be a number of seconds or a function that returns one. */
export function resolveNow(now) {
  if (now === undefined) return systemNow();
  return checkNow(typeof now === 'function' ? now() : now);
}

/** A JSON format argument (`config`, `provider`) as text. */
export function toJsonText(value, what) {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') {
    throw new GatepassError('invalid_configuration', `${what}: must be an object`);
  }
  return JSON.stringify(value);
}

/** Any error as a GatepassError (a wasm error's `"<code>: <message>"` gives its code). */
export function asGatepassError(e) {
  return e instanceof GatepassError ? e : fromWasmError(e);
}

/** `make()` with a wasm error turned into a GatepassError. */
export function wasmCall(make) {
  try {
    return make();
  } catch (e) {
    throw asGatepassError(e);
  }
}
