// The signature step on Node through `node:crypto`, the Node entry's replacement for
// webcrypto.js (same interface, same split: the core has already decided the algorithm, the key
// and the bytes; this only computes). One-shot `crypto.verify` / `crypto.sign` on a `KeyObject`
// made once per key: synchronous when nothing else waits (no promise, no thread-pool hop, which
// is where WebCrypto's time goes for one ES256 or Ed25519 operation), the callback form on the
// thread pool for verifications while other requests are under way (README, Performance).
// Returns `undefined` when Node cannot do it, so the caller uses the wasm path, which applies the
// same rules.

import { activity } from './signer.js';
import { constants, createHmac, createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, sign as nodeSign, timingSafeEqual, verify as nodeVerify } from 'node:crypto';

const PSS = constants.RSA_PKCS1_PSS_PADDING;
const MODE = globalThis.process?.env?.GATEPASS_NODE_CRYPTO_MODE ?? 'adaptive';

// Verification on the calling thread when this is the only request under way (no thread hop:
// the lowest latency), on Node's thread pool when others are (the main thread goes on with their
// wasm work meanwhile, and the pool's threads verify in parallel). Signing stays on the calling
// thread: it costs less than the hop.
function offload(op) {
  if (MODE === 'sync') return false;
  if (MODE === 'async') return true;
  return op === 'verify' && activity.active > 1;
}

// alg → [digest (null: Ed25519 has its own), signing options besides the key].
const ALGORITHMS = {
  EdDSA: [null, {}],
  Ed25519: [null, {}],
  ES256: ['sha256', { dsaEncoding: 'ieee-p1363' }],
  ES384: ['sha384', { dsaEncoding: 'ieee-p1363' }],
  ES512: ['sha512', { dsaEncoding: 'ieee-p1363' }],
  RS256: ['sha256', {}],
  RS384: ['sha384', {}],
  RS512: ['sha512', {}],
  // RFC 7518 §3.5: the PSS salt is as long as the hash.
  PS256: ['sha256', { padding: PSS, saltLength: 32 }],
  PS384: ['sha384', { padding: PSS, saltLength: 48 }],
  PS512: ['sha512', { padding: PSS, saltLength: 64 }],
};
const HMAC = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

const encoder = new TextEncoder();

function bytes(value) {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

function signatureBytes(value) {
  return typeof value === 'string' ? Buffer.from(value, 'base64url') : value;
}

// Only the members a JWK import reads; `alg`/`use`/`kid` are dropped so an import never fails on
// a naming difference (the core has already bound the algorithm to the key).
function importable(jwk) {
  const { kty, crv, x, y, n, e, d, p, q, dp, dq, qi } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, d, p, q, dp, dq, qi }).filter(([, v]) => v !== undefined));
}

/** The `node:crypto` signature step (the interface of webcrypto.js's `createWebCrypto`). */
export function createNodeCrypto() {
  // KeyObjects by key material (the JWK objects the core hands over are new on each call), and
  // by identity for the objects that are reused (a verifier's keys, the signing keys).
  const byMaterial = new Map();
  const byObject = new WeakMap();

  function keyObject(jwk, usage) {
    const own = byObject.get(jwk);
    if (own?.[usage]) return own[usage];
    const id = `${usage}|${jwk.kty}|${jwk.crv ?? ''}|${jwk.x ?? ''}|${jwk.y ?? ''}|${jwk.n ?? ''}|${jwk.e ?? ''}|${jwk.d ?? ''}`;
    let key = byMaterial.get(id);
    if (!key) {
      const input = { key: importable(jwk), format: 'jwk' };
      key = usage === 'sign' ? createPrivateKey(input) : createPublicKey(input);
      byMaterial.set(id, key);
      if (byMaterial.size > 1000) byMaterial.delete(byMaterial.keys().next().value);
    }
    byObject.set(jwk, { ...own, [usage]: key });
    return key;
  }

  return {
    name: 'node:crypto',
    /** `true`/`false` for a checked signature, `undefined` when Node cannot check it. */
    verify({ alg, jwk, input, signature }) {
      // Node ≥ 20 has every algorithm the core has: a call that throws (a key Node will not
      // import) goes to the wasm path, that call only.
      try {
        const data = bytes(input);
        const sig = signatureBytes(signature);
        if (HMAC[alg]) {
          // The key is the secret's octets (`oct` JWK); the whole tag, compared in constant time.
          const tag = createHmac(HMAC[alg], Buffer.from(jwk.k, 'base64url')).update(data).digest();
          return tag.length === sig.length && timingSafeEqual(tag, sig);
        }
        const known = ALGORITHMS[alg];
        if (!known) return undefined;
        const key = { key: keyObject(jwk, 'verify'), ...known[1] };
        if (!offload('verify')) return nodeVerify(known[0], data, key, sig);
        return new Promise((resolve) => {
          nodeVerify(known[0], data, key, sig, (err, ok) => resolve(err ? undefined : ok));
        });
      } catch {
        return undefined;
      }
    },
    /**
     * A new RSA private JWK with a `bits`-bit modulus and exponent 65537, made by OpenSSL: on
     * the calling thread (`generateRsaSync`, for the synchronous `generateSigningKey`) or on the
     * thread pool (`generateRsa`). The core checks the key before it becomes a signing key.
     */
    generateRsaSync(bits) {
      return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 }).privateKey.export({ format: 'jwk' });
    },
    generateRsa(bits) {
      return new Promise((resolve, reject) => {
        generateKeyPair('rsa', { modulusLength: bits, publicExponent: 65537 }, (err, _publicKey, privateKey) =>
          err ? reject(err) : resolve(privateKey.export({ format: 'jwk' })),
        );
      });
    },
    /** The signature bytes, or `undefined` when Node cannot sign with the algorithm. */
    sign(alg, privateJwk, input) {
      const known = ALGORITHMS[alg];
      if (!known) return undefined;
      try {
        const key = { key: keyObject(privateJwk, 'sign'), ...known[1] };
        if (!offload('sign')) return new Uint8Array(nodeSign(known[0], bytes(input), key));
        return new Promise((resolve) => {
          nodeSign(known[0], bytes(input), key, (err, out) => resolve(err ? undefined : new Uint8Array(out)));
        });
      } catch {
        return undefined;
      }
    },
  };
}
