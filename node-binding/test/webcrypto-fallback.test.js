// Without a usable WebCrypto (every importKey fails, as in a runtime lacking the algorithm),
// the wasm implementation signs and verifies instead, with the same answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const subtle = globalThis.crypto.subtle;
let imports = 0;
subtle.importKey = async () => {
  imports += 1;
  throw new DOMException('not supported here', 'NotSupportedError');
};

const { verifyAccessToken, mintAccessToken, generateSigningKeyAsync, publicJwks } = await import('gatepass');
// The Node entry signs and verifies through node:crypto (nodecrypto.test.js); this file tests the
// WebCrypto path the other runtimes use, so it puts WebCrypto in place.
const { useSigner } = await import('../js/signer.js');
const { createWebCrypto } = await import('../js/webcrypto.js');
useSigner(createWebCrypto());
const h = await import('../test-support/helpers.js');

test('the wasm path takes over when WebCrypto cannot import the key', async () => {
  const fx = await h.makeFixture();
  const a = await h.assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1' });
  const response = await fx.server.handle(
    h.tokenRequest({ grant_type: 'client_credentials', client_assertion_type: h.ASSERTION_TYPE, client_assertion: a }),
  );
  assert.equal(response.status, 200);
  const { access_token: token } = await response.json();
  assert.ok(imports > 0, 'WebCrypto was tried first');
  const claims = await verifyAccessToken(token, h.providerFor(fx.server), { now: h.FIXED_NOW });
  assert.equal(claims.client_id, 'worker');
  const [head, payload] = token.split('.');
  await assert.rejects(
    verifyAccessToken(`${head}.${payload}.${'A'.repeat(86)}`, h.providerFor(fx.server), { now: h.FIXED_NOW }),
    (e) => e.code === 'invalid_token',
  );
});

test('mintAccessToken signs in wasm when WebCrypto cannot import the key', async () => {
  const before = imports;
  for (const alg of ['EdDSA', 'ES256', 'PS256']) {
    // With WebCrypto in place, RSA keys are made asynchronously (its generateKey still works here).
    const key = await generateSigningKeyAsync(alg);
    const out = await mintAccessToken({ issuer: h.ISSUER, signingKey: key, clientId: 'c', audience: h.API, now: h.FIXED_NOW });
    const provider = { issuer: h.ISSUER, audiences: [h.API], local_jwks: { inline_string: JSON.stringify(publicJwks(key)) } };
    assert.equal((await verifyAccessToken(out.access_token, provider, { now: h.FIXED_NOW })).client_id, 'c');
  }
  assert.ok(imports > before, 'WebCrypto was tried first');
});
