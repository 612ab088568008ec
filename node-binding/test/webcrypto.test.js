// The signature step runs in WebCrypto (the core decides everything else): signing tokens,
// checking client assertions and checking access tokens all go through crypto.subtle, and a
// bad signature is still refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// Count the runtime's signature operations before the package captures crypto.subtle.
const calls = { sign: 0, verify: 0 };
const subtle = globalThis.crypto.subtle;
const realSign = subtle.sign.bind(subtle);
const realVerify = subtle.verify.bind(subtle);
subtle.sign = (...args) => {
  calls.sign += 1;
  return realSign(...args);
};
subtle.verify = (...args) => {
  calls.verify += 1;
  return realVerify(...args);
};

const { generateSigningKey, generateSigningKeyAsync, verifyAccessToken } = await import('gatepass');
// The Node entry signs and verifies through node:crypto (nodecrypto.test.js); this file tests the
// WebCrypto path the other runtimes use, so it puts WebCrypto in place.
const { useSigner } = await import('../js/signer.js');
const { createWebCrypto } = await import('../js/webcrypto.js');
useSigner(createWebCrypto());
const h = await import('../test-support/helpers.js');

test('tokens are signed, and assertions and tokens verified, through WebCrypto', async () => {
  const fx = await h.makeFixture();
  const before = { ...calls };
  const token = await h.tokenByAssertion(fx);
  assert.ok(calls.sign > before.sign, 'the token was signed by crypto.subtle.sign');
  assert.ok(calls.verify > before.verify, 'the assertion was checked by crypto.subtle.verify');

  const verifiesBefore = calls.verify;
  const claims = await verifyAccessToken(token, h.providerFor(fx.server), { now: h.FIXED_NOW, scopes: ['orders:read'] });
  assert.equal(claims.client_id, 'worker');
  assert.ok(calls.verify > verifiesBefore, 'the access token was checked by crypto.subtle.verify');

  // A WebCrypto "false" is final: a tampered token and a tampered assertion are refused.
  const [head, payload, sig] = token.split('.');
  const flipped = (sig[5] === 'A' ? 'B' : 'A');
  const tampered = `${head}.${payload}.${sig.slice(0, 5)}${flipped}${sig.slice(6)}`;
  await assert.rejects(
    verifyAccessToken(tampered, h.providerFor(fx.server), { now: h.FIXED_NOW }),
    (e) => e.code === 'invalid_token' && e.status === 401,
  );
  const b = await h.assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1' });
  const [bh, bp, bs] = b.split('.');
  const badAssertion = `${bh}.${bp}.${bs.slice(0, 5)}${bs[5] === 'A' ? 'B' : 'A'}${bs.slice(6)}`;
  const refused = await fx.server.handle(
    h.tokenRequest({ grant_type: 'client_credentials', client_assertion_type: h.ASSERTION_TYPE, client_assertion: badAssertion }),
  );
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).error, 'invalid_client');
});

test('with WebCrypto, RSA signing keys are made asynchronously by crypto.subtle.generateKey', async () => {
  const realGenerate = subtle.generateKey.bind(subtle);
  let generated = 0;
  subtle.generateKey = (...args) => {
    generated += 1;
    return realGenerate(...args);
  };
  try {
    assert.throws(
      () => generateSigningKey('PS256'),
      (e) => e.code === 'invalid_request' && /await generateSigningKeyAsync\('PS256'\)/.test(e.message),
    );
    assert.equal(generated, 0);
    const key = await generateSigningKeyAsync('RS256', 'wc');
    assert.equal(generated, 1);
    assert.deepEqual([key.kty, key.alg, key.kid], ['RSA', 'RS256', 'wc']);
    const fx = await h.makeFixture({ configOverrides: { signing_keys: [key] } });
    const token = await h.tokenByAssertion(fx);
    assert.equal((await verifyAccessToken(token, h.providerFor(fx.server), { now: h.FIXED_NOW })).client_id, 'worker');
  } finally {
    subtle.generateKey = realGenerate;
  }
});

test('a WebCrypto call that throws falls back for that call only; NotSupportedError for good', async () => {
  const { createWebCrypto } = await import('../js/webcrypto.js');
  let calls = 0;
  let error = new DOMException('bad data', 'DataError');
  const fake = {
    importKey: async () => ({}),
    verify: async () => {
      calls += 1;
      throw error;
    },
  };
  const wc = createWebCrypto(fake);
  const step = { alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, input: 'a.b', signature: 'AA' };
  assert.equal(await wc.verify(step), undefined);
  assert.equal(await wc.verify(step), undefined);
  assert.equal(calls, 2, 'a DataError must not switch later calls away from WebCrypto');
  error = new DOMException('no such curve', 'NotSupportedError');
  assert.equal(await wc.verify(step), undefined);
  assert.equal(await wc.verify(step), undefined);
  assert.equal(calls, 3, 'after NotSupportedError the algorithm goes to wasm directly');
});
