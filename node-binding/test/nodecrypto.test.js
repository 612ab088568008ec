// On Node the signature step is node:crypto (js/nodecrypto.js): tokens are signed, and client
// assertions and access tokens verified, by crypto.sign / crypto.verify on cached KeyObjects, with
// the same answers as jose for every algorithm; a call Node cannot do goes to the wasm path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import * as jose from 'jose';

// Count node:crypto's one-shot operations before the package binds them.
const calls = { sign: 0, verify: 0, verifyOnPool: 0 };
const realSign = crypto.sign;
const realVerify = crypto.verify;
crypto.sign = (...args) => {
  calls.sign += 1;
  return realSign(...args);
};
crypto.verify = (...args) => {
  calls.verify += 1;
  if (typeof args[4] === 'function') calls.verifyOnPool += 1; // the callback form
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

test('verifications under way together go to the thread pool, with the same verdicts', async () => {
  const fx = await h.makeFixture();
  const token = await h.tokenByAssertion(fx);
  const [head, payload, sig] = token.split('.');
  const tampered = `${head}.${payload}.${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`;
  const provider = h.providerFor(fx.server);
  const before = { ...calls };
  const results = await Promise.allSettled(
    Array.from({ length: 16 }, (_, i) => verifyAccessToken(i % 2 === 0 ? token : tampered, provider, { now: h.FIXED_NOW })),
  );
  results.forEach((r, i) => {
    if (i % 2 === 0) assert.equal(r.status === 'fulfilled' && r.value.client_id, 'worker', `call ${i}`);
    else assert.ok(r.status === 'rejected' && r.reason.code === 'invalid_token', `call ${i}`);
  });
  assert.equal(calls.verify - before.verify, 16, 'every signature checked by node:crypto, none by wasm');
  assert.ok(calls.verifyOnPool - before.verifyOnPool >= 14, `on the pool: ${calls.verifyOnPool - before.verifyOnPool} of 16`);
  // One at a time: on the calling thread.
  const alone = calls.verifyOnPool;
  await verifyAccessToken(token, provider, { now: h.FIXED_NOW });
  assert.equal(calls.verifyOnPool, alone);
});
