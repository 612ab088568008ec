// Key and secret tooling: each function is one core call.

import { GatepassError } from './errors.js';
import { wasmCall } from './common.js';

export function createKeys(wasm) {
  /** A new private signing JWK for `alg`; the `kid` is its RFC 7638 thumbprint unless given. */
  function generateSigningKey(alg, kid) {
    if (typeof alg !== 'string') throw new GatepassError('invalid_request', 'alg: must be a string');
    return JSON.parse(wasmCall(() => wasm.generateSigningKey(alg, kid ?? undefined)));
  }

  /** The public JWKS (`{keys: [...]}`) of private JWKs (a JWK, an array, or a set). */
  function publicJwks(privateJwks) {
    const text = typeof privateJwks === 'string' ? privateJwks : JSON.stringify(privateJwks);
    return JSON.parse(wasmCall(() => wasm.publicJwks(text)));
  }

  /** The stored form of a client secret (`sha256:...`), for `client_secret_hash`. */
  function hashClientSecret(secret) {
    if (typeof secret !== 'string') throw new GatepassError('invalid_request', 'secret: must be a string');
    return wasm.hashClientSecret(secret);
  }

  /** A new 256-bit client secret. */
  function generateClientSecret() {
    return wasm.generateClientSecret();
  }

  return { generateSigningKey, publicJwks, hashClientSecret, generateClientSecret };
}
