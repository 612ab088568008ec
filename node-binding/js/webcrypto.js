// WebCrypto for the signature step only. The core (wasm) decides everything else: it hands
// over exactly (alg, key, signing input, signature) and finishes with the verdict, or gives the
// signing input and assembles the token from the signature. ES256/RS256/PS256 through WebCrypto
// are an order of magnitude faster than the pure-Rust wasm implementations; when the runtime
// lacks an algorithm (importKey or verify throws NotSupportedError), callers fall back to the
// wasm path, which applies the same rules.

const ALGORITHMS = {
  EdDSA: { importParams: { name: 'Ed25519' }, signParams: { name: 'Ed25519' } },
  ES256: { importParams: { name: 'ECDSA', namedCurve: 'P-256' }, signParams: { name: 'ECDSA', hash: 'SHA-256' } },
  ES384: { importParams: { name: 'ECDSA', namedCurve: 'P-384' }, signParams: { name: 'ECDSA', hash: 'SHA-384' } },
  ES512: { importParams: { name: 'ECDSA', namedCurve: 'P-521' }, signParams: { name: 'ECDSA', hash: 'SHA-512' } },
  RS256: { importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signParams: { name: 'RSASSA-PKCS1-v1_5' } },
  RS384: { importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, signParams: { name: 'RSASSA-PKCS1-v1_5' } },
  RS512: { importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }, signParams: { name: 'RSASSA-PKCS1-v1_5' } },
  // RFC 7518 §3.5: the PSS salt is as long as the hash.
  PS256: { importParams: { name: 'RSA-PSS', hash: 'SHA-256' }, signParams: { name: 'RSA-PSS', saltLength: 32 } },
  PS384: { importParams: { name: 'RSA-PSS', hash: 'SHA-384' }, signParams: { name: 'RSA-PSS', saltLength: 48 } },
  PS512: { importParams: { name: 'RSA-PSS', hash: 'SHA-512' }, signParams: { name: 'RSA-PSS', saltLength: 64 } },
  HS256: { importParams: { name: 'HMAC', hash: 'SHA-256' }, signParams: { name: 'HMAC' } },
  HS384: { importParams: { name: 'HMAC', hash: 'SHA-384' }, signParams: { name: 'HMAC' } },
  HS512: { importParams: { name: 'HMAC', hash: 'SHA-512' }, signParams: { name: 'HMAC' } },
};

const encoder = new TextEncoder();

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// Only the members WebCrypto needs; `alg`/`use`/`kid` are dropped so an import never fails on
// a naming difference (the core has already bound the algorithm to the key).
function importable(jwk) {
  const { kty, crv, x, y, n, e, d, p, q, dp, dq, qi, k } = jwk;
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e, d, p, q, dp, dq, qi, k }).filter(([, v]) => v !== undefined),
  );
}

/**
 * A signature helper bound to one SubtleCrypto, with an import cache (keys are imported once
 * per process, keyed by the key material). Returns `undefined` from `verify`/`sign` when the
 * runtime cannot do the algorithm, so the caller uses the wasm path.
 */
export function createWebCrypto(subtle = globalThis.crypto?.subtle) {
  const cache = new Map();
  const unsupported = new Set();

  // Keys handed over as the same object are found by identity first.
  const byObject = new WeakMap();

  async function key(alg, jwk, usage) {
    let own = byObject.get(jwk);
    const slot = `${alg}|${usage}`;
    if (own?.has(slot)) return own.get(slot);
    if (!own) {
      own = new Map();
      byObject.set(jwk, own);
    }
    // The key material identifies the key; cheaper than serializing the whole JWK per call.
    const id = `${alg}|${usage}|${jwk.kty}|${jwk.crv ?? ''}|${jwk.x ?? ''}|${jwk.y ?? ''}|${jwk.n ?? ''}|${jwk.e ?? ''}|${jwk.k ?? ''}|${jwk.d ?? ''}`;
    let imported = cache.get(id);
    if (!imported) {
      imported = subtle.importKey('jwk', importable(jwk), ALGORITHMS[alg].importParams, false, [usage]);
      cache.set(id, imported);
      if (cache.size > 1000) cache.delete(cache.keys().next().value);
    }
    own.set(slot, imported);
    return imported;
  }

  function noteFailure(alg, error) {
    if (error?.name === 'NotSupportedError') unsupported.add(alg);
  }

  return {
    name: 'webcrypto',
    /** `true`/`false` for a checked signature, `undefined` when WebCrypto cannot check it. */
    async verify({ alg, jwk, input, signature }) {
      if (!subtle || !ALGORITHMS[alg] || unsupported.has(alg)) return undefined;
      try {
        const k = await key(alg, jwk, 'verify');
        // Bytes as they come from the core's detached verification; text from the JSON steps.
        const sig = typeof signature === 'string' ? fromBase64Url(signature) : signature;
        const data = typeof input === 'string' ? encoder.encode(input) : input;
        return await subtle.verify(ALGORITHMS[alg].signParams, k, sig, data);
      } catch (e) {
        // A failure of the runtime's crypto sends this call to the wasm path, which applies the
        // same rules. Only a missing algorithm or curve (NotSupportedError) sends every later
        // call there too: an input that merely makes one call throw must not switch the
        // process to the slower path.
        noteFailure(alg, e);
        return undefined;
      }
    },
    /**
     * A new RSA private JWK with a `bits`-bit modulus and exponent 65537 (the core asks for one:
     * the package's wasm makes no RSA keys). WebCrypto offers this only asynchronously;
     * `undefined` without WebCrypto. The core checks the key before it becomes a signing key.
     */
    async generateRsa(bits) {
      if (!subtle) return undefined;
      const pair = await subtle.generateKey(
        { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
        true,
        ['sign', 'verify'],
      );
      return subtle.exportKey('jwk', pair.privateKey);
    },
    /** The signature bytes, or `undefined` when WebCrypto cannot sign with the algorithm. */
    async sign(alg, privateJwk, input) {
      if (!subtle || !ALGORITHMS[alg] || unsupported.has(alg)) return undefined;
      try {
        const k = await key(alg, privateJwk, 'sign');
        const data = typeof input === 'string' ? encoder.encode(input) : input;
        return new Uint8Array(await subtle.sign(ALGORITHMS[alg].signParams, k, data));
      } catch (e) {
        noteFailure(alg, e);
        return undefined;
      }
    },
  };
}
