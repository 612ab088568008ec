// Key and secret tooling: each function is one core call (an RSA key: the runtime makes it, the
// core checks it).

import { GatepassError } from './errors.js';
import { wasmCall } from './common.js';
import { signer } from './signer.js';

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
  // Checked here: wasm-bindgen would read another type as text out of bounds and trap.
  function checkArgs(alg, kid) {
    if (typeof alg !== 'string') throw new GatepassError('invalid_request', 'alg: must be a string');
    if (kid != null && typeof kid !== 'string') throw new GatepassError('invalid_request', 'kid: must be a string');
  }

  // The core makes the key, or asks for an RSA key from the runtime (the package's wasm makes
  // none) and then checks and names what the runtime made. `made` gets the RSA modulus size and
  // returns the runtime's private JWK (or a promise of it).
  function generate(alg, kid, made) {
    const answer = JSON.parse(wasmCall(() => wasm.generateSigningKey(alg, kid ?? undefined)));
    if (answer.key !== undefined) return answer.key;
    const adopt = (jwk) => JSON.parse(wasmCall(() => wasm.adoptSigningKey(alg, kid ?? undefined, JSON.stringify(jwk))));
    const failed = (e) => {
      if (e instanceof GatepassError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new GatepassError('server_error', `alg: the runtime could not make an RSA key (${why})`, { cause: e });
    };
    let jwk;
    try {
      jwk = made(answer.hostMakesRsa);
    } catch (e) {
      failed(e);
    }
    return typeof jwk?.then === 'function' ? jwk.then(adopt, failed) : adopt(jwk);
  }

  /**
   * A new private signing JWK for `alg`; the `kid` is its RFC 7638 thumbprint unless given.
   * RSA keys come from the runtime's crypto, which only Node offers synchronously: elsewhere
   * `generateSigningKeyAsync` makes them.
   */
  function generateSigningKey(alg, kid) {
    checkArgs(alg, kid);
    requireRandomness('generateSigningKey');
    return generate(alg, kid, (bits) => {
      const jwk = signer.generateRsaSync(bits);
      if (jwk === undefined) {
        throw new GatepassError(
          'invalid_request',
          `alg: ${alg} keys are made by this runtime's WebCrypto, which works asynchronously: use await generateSigningKeyAsync('${alg}')`,
        );
      }
      return jwk;
    });
  }

  /** `generateSigningKey` for every algorithm in every runtime (RSA keys off the main thread). */
  async function generateSigningKeyAsync(alg, kid) {
    checkArgs(alg, kid);
    requireRandomness('generateSigningKeyAsync');
    return generate(alg, kid, (bits) => signer.generateRsa(bits));
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

  return { generateSigningKey, generateSigningKeyAsync, publicJwks, hashClientSecret, generateClientSecret };
}
