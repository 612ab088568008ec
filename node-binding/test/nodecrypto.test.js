// On Node the signature step is node:crypto (js/nodecrypto.js): tokens are signed, and client
// assertions and access tokens verified, by crypto.sign / crypto.verify on cached KeyObjects, with
// the same answers as jose for every algorithm; a call Node cannot do goes to the wasm path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import * as jose from 'jose';

// Count node:crypto's one-shot operations before the package binds them.
const calls = { sign: 0, verify: 0 };
const realSign = crypto.sign;
const realVerify = crypto.verify;
crypto.sign = (...args) => {
  calls.sign += 1;
  return realSign(...args);
};
crypto.verify = (...args) => {
  calls.verify += 1;
  return realVerify(...args);
};
syncBuiltinESMExports();

const { verifyAccessToken } = await import('gatepass');
const { signerName } = await import('../js/signer.js');
const { createNodeCrypto } = await import('../js/nodecrypto.js');
const h = await import('../test-support/helpers.js');

test('the Node entry signs and verifies through node:crypto', async () => {
  assert.equal(signerName(), 'node:crypto');
  const fx = await h.makeFixture();
  const before = { ...calls };
  const token = await h.tokenByAssertion(fx);
  assert.equal(calls.sign, before.sign + 1, 'the token was signed by crypto.sign');
  assert.equal(calls.verify, before.verify + 1, 'the assertion was checked by crypto.verify');
  const claims = await verifyAccessToken(token, h.providerFor(fx.server), { now: h.FIXED_NOW, scopes: ['orders:read'] });
  assert.equal(claims.client_id, 'worker');
  assert.equal(calls.verify, before.verify + 2, 'the access token was checked by crypto.verify');
  // A node:crypto "false" is final: a tampered token is refused.
  const [head, payload, sig] = token.split('.');
  const tampered = `${head}.${payload}.${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`;
  await assert.rejects(verifyAccessToken(tampered, h.providerFor(fx.server), { now: h.FIXED_NOW }), { code: 'invalid_token' });
});

const ALGS = {
  EdDSA: ['Ed25519'],
  ES256: ['ES256'],
  ES384: ['ES384'],
  ES512: ['ES512'],
  RS256: ['RS256', { modulusLength: 2048 }],
  RS512: ['RS512', { modulusLength: 2048 }],
  PS256: ['PS256', { modulusLength: 2048 }],
  PS384: ['PS384', { modulusLength: 2048 }],
};

test('every algorithm: what jose signs verifies, what node:crypto signs jose verifies, a flipped bit is false', async () => {
  const nc = createNodeCrypto();
  for (const [alg, [joseAlg, options]] of Object.entries(ALGS)) {
    const { publicKey, privateKey } = await jose.generateKeyPair(joseAlg === 'Ed25519' ? 'EdDSA' : joseAlg, { extractable: true, crv: joseAlg === 'Ed25519' ? 'Ed25519' : undefined, ...options });
    const jwk = await jose.exportJWK(publicKey);
    const privateJwk = await jose.exportJWK(privateKey);
    const jws = await new jose.CompactSign(new TextEncoder().encode('{"a":1}')).setProtectedHeader({ alg: joseAlg === 'Ed25519' ? 'EdDSA' : joseAlg }).sign(privateKey);
    const [h64, p64, s64] = jws.split('.');
    assert.equal(nc.verify({ alg, jwk, input: `${h64}.${p64}`, signature: s64 }), true, alg);
    const flipped = Buffer.from(s64, 'base64url');
    flipped[flipped.length - 1] ^= 1;
    assert.equal(nc.verify({ alg, jwk, input: `${h64}.${p64}`, signature: flipped }), false, alg);
    const ours = nc.sign(alg, privateJwk, `${h64}.${p64}`);
    const back = `${h64}.${p64}.${Buffer.from(ours).toString('base64url')}`;
    await jose.compactVerify(back, publicKey); // throws if jose refuses it
  }
  // HMAC: the whole tag, compared in constant time; a shorter tag is false.
  const k = crypto.randomBytes(32);
  const tag = crypto.createHmac('sha256', k).update('a.b').digest();
  const jwk = { kty: 'oct', k: k.toString('base64url') };
  assert.equal(nc.verify({ alg: 'HS256', jwk, input: 'a.b', signature: tag }), true);
  assert.equal(nc.verify({ alg: 'HS256', jwk, input: 'a.b', signature: tag.subarray(0, 16) }), false);
});

test('a key node:crypto cannot use goes to the wasm path for that call', () => {
  const nc = createNodeCrypto();
  const bad = { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' };
  assert.equal(nc.verify({ alg: 'ES256', jwk: bad, input: 'a.b', signature: 'AA' }), undefined);
  assert.equal(nc.verify({ alg: 'XX999', jwk: bad, input: 'a.b', signature: 'AA' }), undefined);
  assert.equal(nc.sign('XX999', bad, 'a.b'), undefined);
  // That call only: a good key of the same algorithm is checked by node:crypto right after.
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signature = crypto.sign('sha256', Buffer.from('a.b'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  assert.equal(nc.verify({ alg: 'ES256', jwk: publicKey.export({ format: 'jwk' }), input: 'a.b', signature }), true);
});
