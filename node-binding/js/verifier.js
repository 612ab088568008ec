// `verifyAccessToken`: core parses the token, picks the key and checks the claims; WebCrypto
// (or wasm) checks the signature in between.

import { GatepassError } from './errors.js';
import { resolveNow, wasmCall } from './common.js';
import { tracked } from './signer.js';

/**
 * @param {typeof import('../dist/wasm/gatepass_node.js')} wasm an initialized wasm-bindgen module
 * @param {ReturnType<typeof import('./webcrypto.js').createWebCrypto>} webcrypto
 */
export function createVerifier(wasm, webcrypto) {
  // One Verifier per provider content: an object is keyed by its JSON text, read on every
  // call, so a changed object (new `audiences`, new keys) gets a verifier of its own and never
  // the one parsed before the change. The most recently used MAX_VERIFIERS are kept.
  // JSON.stringify of a typical provider (one inline key, 250–550 characters) measured 2–4 µs
  // per call in Node 20, about 1% of a verification (README, "Low-level calls").
  const verifiers = new Map();
  const MAX_VERIFIERS = 64;

  function verifierFor(provider) {
    if (typeof provider !== 'string' && (provider === null || typeof provider !== 'object')) {
      throw new GatepassError('invalid_configuration', 'provider: must be an object');
    }
    const text = typeof provider === 'string' ? provider : JSON.stringify(provider);
    let v = verifiers.get(text);
    if (v !== undefined) {
      // Most recently used last: the first entry is the one to drop.
      verifiers.delete(text);
    } else {
      v = newVerifier(text);
      if (verifiers.size >= MAX_VERIFIERS) {
        // Dropped, not freed: a verification in flight may still use it after its signature
        // check (finishBuiltin); wasm-bindgen's FinalizationRegistry frees it once unused.
        verifiers.delete(verifiers.keys().next().value);
      }
    }
    verifiers.set(text, v);
    return v;
  }

  function newVerifier(text) {
    return wasmCall(() => new wasm.Verifier(text));
  }

  /**
   * Verifies an RFC 9068 access token for a provider (the Envoy filter's provider format with
   * `local_jwks`), the scopes required and the claim values required (`claims`, as a gateway
   * rule's `requires.claims`). Resolves to the claims; rejects with a GatepassError carrying the
   * RFC 6750 `code`, `status` and `wwwAuthenticate`.
   */
  function verifyAccessToken(token, provider, options = {}) {
    return tracked(() => verifyOnce(token, provider, options));
  }

  async function verifyOnce(token, provider, options) {
    const verifier = verifierFor(provider);
    let scopes = options.scopes ?? [];
    if (typeof scopes === 'string') scopes = scopes.split(' ').filter((s) => s !== '');
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) {
      throw new GatepassError('invalid_request', 'scopes: must be an array of strings');
    }
    const claims = options.claims ?? {};
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims) || Object.values(claims).some((v) => typeof v !== 'string')) {
      throw new GatepassError('invalid_request', 'claims: must be an object of claim names to string values');
    }
    const claimPairs = Object.entries(claims).flat();
    const now = resolveNow(options.now);
    const realm = options.realm ?? 'gatepass';
    // Every argument the wasm reads as text is checked here: wasm-bindgen would read another
    // type out of bounds and trap instead of refusing it.
    if (typeof realm !== 'string') throw new GatepassError('invalid_request', 'realm: must be a string');
    const text = typeof token === 'string' ? token : '';
    // One pass over the token in the core (parse, key choice, claim checks at `now`); the
    // signature in WebCrypto where it can, else in wasm; the core releases the verdict.
    const job = verifier.start(text, now);
    let out;
    try {
      const refused = job.error(realm);
      if (refused !== undefined) {
        out = JSON.parse(refused);
      } else {
        const valid = await webcrypto.verify({
          alg: job.alg(),
          jwk: keyJwkOf(verifier, job.key()),
          input: job.input(),
          signature: job.signature(),
        });
        out = JSON.parse(
          valid === undefined
            ? job.finishBuiltin(verifier, scopes, claimPairs, realm)
            : job.finish(valid, scopes, claimPairs, realm),
        );
      }
    } finally {
      job.free();
    }
    if (out.claims !== undefined) return out.claims;
    throw new GatepassError(out.error ?? 'invalid_token', out.description ?? 'the access token is not valid', {
      status: out.status,
      wwwAuthenticate: out.wwwAuthenticate,
    });
  }

  // The JWK objects of each verifier's keys, parsed once (and so imported once by WebCrypto).
  const verifierKeys = new WeakMap();
  function keyJwkOf(verifier, index) {
    let keys = verifierKeys.get(verifier);
    if (!keys) {
      keys = [];
      verifierKeys.set(verifier, keys);
    }
    if (keys[index] === undefined) keys[index] = JSON.parse(verifier.keyJwk(index) ?? 'null');
    return keys[index];
  }

  return verifyAccessToken;
}
