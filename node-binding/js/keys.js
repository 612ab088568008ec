// Key and secret tooling: each function is one core call.

import { GatepassError } from './errors.js';
import { wasmCall } from './common.js';

/**
 * The runtime's randomness must answer before the core asks it for key material: where it
 * refuses (Cloudflare Workers outside a request, at a Worker's top level) the core could only
 * stop, so the caller gets this error instead.
 */
function requireRandomness(what) {
  try {
    globalThis.crypto.getRandomValues(new Uint8Array(1));
  } catch (e) {
    throw new GatepassError(
      'server_error',
      `${what}: the runtime refuses randomness here (${e instanceof Error ? e.message : String(e)}); ` +
        'in a Worker, make keys and secrets inside a request, not at the top level',
      { cause: e },
    );
  }
}

export function createKeys(wasm) {
  /** A new private signing JWK for `alg`; the `kid` is its RFC 7638 thumbprint unless given. */
  function generateSigningKey(alg, kid) {
    if (typeof alg !== 'string') throw new GatepassError('invalid_request', 'alg: must be a string');
    requireRandomness('generateSigningKey');
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
    requireRandomness('generateClientSecret');
    return wasm.generateClientSecret();
  }

  return { generateSigningKey, publicJwks, hashClientSecret, generateClientSecret };
}
