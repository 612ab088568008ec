// mintAccessToken: RFC 9068 tokens for clients the host authenticated by other means, with the
// same format, keys and verifier as the token endpoint's tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { GatepassError, generateSigningKey, mintAccessToken, publicJwks, verifyAccessToken } from 'gatepass';
import { API, FIXED_NOW, ISSUER, makeFixture, providerFor } from '../test-support/helpers.js';

const localProvider = (keys, audiences = [API]) => ({
  issuer: ISSUER,
  audiences,
  local_jwks: { inline_string: JSON.stringify(publicJwks(keys)) },
});

async function rejectsWith(promise, code, field) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof GatepassError, String(e));
    assert.equal(e.code, code, e.message);
    if (field) assert.match(e.message, new RegExp(field));
    return true;
  });
}

test('mintAccessToken: a §5.1 response whose token jose and verifyAccessToken accept, for every signing alg', async () => {
  for (const alg of ['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256']) {
    const key = generateSigningKey(alg);
    const out = await mintAccessToken({
      issuer: ISSUER,
      signingKey: key,
      clientId: 'svc-reports',
      scope: 'reports:read reports:write',
      audience: API,
      ttl: 600,
      now: FIXED_NOW,
    });
    assert.deepEqual(Object.keys(out).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(out.token_type, 'Bearer');
    assert.equal(out.expires_in, 600);
    assert.equal(out.scope, 'reports:read reports:write');

    const jwks = jose.createLocalJWKSet(publicJwks(key));
    const { payload, protectedHeader } = await jose.jwtVerify(out.access_token, jwks, {
      issuer: ISSUER,
      audience: API,
      typ: 'at+jwt',
      currentDate: new Date(FIXED_NOW * 1000),
    });
    assert.equal(protectedHeader.alg, alg);
    assert.equal(protectedHeader.kid, key.kid);
    assert.equal(payload.sub, 'svc-reports');
    assert.equal(payload.client_id, 'svc-reports');
    assert.equal(payload.aud, API);
    assert.equal(payload.iat, FIXED_NOW);
    assert.equal(payload.exp, FIXED_NOW + 600);
    assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);

    const claims = await verifyAccessToken(out.access_token, localProvider(key), { now: FIXED_NOW + 1, scopes: 'reports:write' });
    assert.equal(claims.client_id, 'svc-reports');
    // ttl is honoured: one second after exp plus the verifier's 60 s skew, it is expired.
    await rejectsWith(verifyAccessToken(out.access_token, localProvider(key), { now: FIXED_NOW + 661 }), 'invalid_token');
  }
});

test('mintAccessToken: two audiences become an array, no scope means no scope claim, each jti is new', async () => {
  const key = generateSigningKey('EdDSA');
  const a = await mintAccessToken({ issuer: ISSUER, signingKey: key, clientId: 'c', audience: [API, 'https://b.example', API], now: FIXED_NOW });
  const b = await mintAccessToken({ issuer: ISSUER, signingKey: key, clientId: 'c', audience: API, now: FIXED_NOW });
  const pa = jose.decodeJwt(a.access_token);
  assert.deepEqual(pa.aud, [API, 'https://b.example']);
  assert.equal(pa.scope, undefined);
  assert.equal(a.scope, undefined);
  assert.equal(a.expires_in, 3600);
  assert.notEqual(pa.jti, jose.decodeJwt(b.access_token).jti);
});

test('mintAccessToken: bad arguments are refused with the RFC code and the field', async () => {
  const key = generateSigningKey('ES256');
  const base = { issuer: ISSUER, signingKey: key, clientId: 'c', audience: API, now: FIXED_NOW };
  await rejectsWith(mintAccessToken({ ...base, clientId: '' }), 'invalid_request', 'client_id');
  await rejectsWith(mintAccessToken({ ...base, clientId: 'with space' }), 'invalid_request', 'client_id');
  await rejectsWith(mintAccessToken({ ...base, clientId: 42 }), 'invalid_request', 'clientId');
  await rejectsWith(mintAccessToken({ ...base, scope: ['bad"scope'] }), 'invalid_scope');
  await rejectsWith(mintAccessToken({ ...base, scope: ['two words'] }), 'invalid_scope');
  await rejectsWith(mintAccessToken({ ...base, scope: 7 }), 'invalid_request', 'scope');
  await rejectsWith(mintAccessToken({ ...base, audience: undefined }), 'invalid_target', 'audience');
  await rejectsWith(mintAccessToken({ ...base, audience: [] }), 'invalid_target', 'audience');
  await rejectsWith(mintAccessToken({ ...base, audience: [''] }), 'invalid_target');
  await rejectsWith(mintAccessToken({ ...base, ttl: 0 }), 'invalid_request', 'ttl');
  await rejectsWith(mintAccessToken({ ...base, ttl: 86_401 }), 'invalid_request', 'ttl');
  await rejectsWith(mintAccessToken({ ...base, ttl: 1.5 }), 'invalid_request', 'ttl');
  await rejectsWith(mintAccessToken({ ...base, now: -1 }), 'invalid_request', 'now');
  await rejectsWith(mintAccessToken({ ...base, issuer: 'http://evil.example' }), 'invalid_configuration', 'issuer');
  await rejectsWith(mintAccessToken({ ...base, signingKey: undefined }), 'invalid_configuration', 'signingKey');
  const { d, ...publicOnly } = key;
  assert.ok(d);
  await rejectsWith(mintAccessToken({ ...base, signingKey: publicOnly }), 'invalid_configuration', 'signing_keys');
  await rejectsWith(mintAccessToken(null), 'invalid_request', 'options');
});

test('mintAccessToken: signingKeys + activeKid sign with the named key (rotation)', async () => {
  const older = generateSigningKey('EdDSA', 'k-old');
  const next = generateSigningKey('EdDSA', 'k-next');
  const base = { issuer: ISSUER, signingKeys: [older, next], clientId: 'c', audience: API, now: FIXED_NOW };
  const first = await mintAccessToken(base);
  const second = await mintAccessToken({ ...base, activeKid: 'k-next' });
  assert.equal(jose.decodeProtectedHeader(first.access_token).kid, 'k-old');
  assert.equal(jose.decodeProtectedHeader(second.access_token).kid, 'k-next');
  await rejectsWith(mintAccessToken({ ...base, activeKid: 'k-none' }), 'invalid_configuration', 'active_kid');
});

test('AuthorizationServer.mintAccessToken: the server key and clock, default audiences, same verifier', async () => {
  const fx = await makeFixture();
  const out = await fx.server.mintAccessToken({ clientId: 'svc-admin', scope: ['admin'] });
  const claims = await verifyAccessToken(out.access_token, providerFor(fx.server), { now: FIXED_NOW, scopes: ['admin'] });
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.iat, FIXED_NOW);
  assert.equal(claims.aud, API);
  assert.equal(claims.client_id, 'svc-admin');
  const jwks = jose.createLocalJWKSet(fx.server.jwks());
  await jose.jwtVerify(out.access_token, jwks, { issuer: ISSUER, audience: API, currentDate: new Date(FIXED_NOW * 1000) });
  await rejectsWith(fx.server.mintAccessToken({ clientId: 'x', audience: [''] }), 'invalid_target');
});
