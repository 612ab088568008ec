// The low-level calls: verifyAccessToken (RFC 9068 / RFC 6750 errors), key generation, JWKS,
// secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as jose from 'jose';
import {
  GatepassError,
  generateClientSecret,
  generateSigningKey,
  generateSigningKeyAsync,
  hashClientSecret,
  publicJwks,
  verifyAccessToken,
} from 'gatepass';
import { API, FIXED_NOW, ISSUER, basicAuth, makeFixture, providerFor, tokenRequest } from '../test-support/helpers.js';

async function issue(fx, scope = 'orders:read') {
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', scope }, { authorization: basicAuth('billing', fx.secrets.basic) }),
  );
  return (await response.json()).access_token;
}

async function rejects(promise, code, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof GatepassError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

test('verifyAccessToken: claims, required scopes, RFC 6750 errors', async () => {
  const fx = await makeFixture();
  const provider = providerFor(fx.server);
  const token = await issue(fx, 'orders:read orders:write');

  const claims = await verifyAccessToken(token, provider, { now: FIXED_NOW, scopes: ['orders:read', 'orders:write'] });
  assert.equal(claims.sub, 'billing');
  assert.equal((await verifyAccessToken(token, provider, { now: () => FIXED_NOW, scopes: 'orders:write' })).sub, 'billing');

  // 403 insufficient_scope with scope= in the challenge (RFC 6750 §3.1).
  await assert.rejects(verifyAccessToken(token, provider, { now: FIXED_NOW, scopes: ['admin'], realm: 'orders' }), (e) => {
    assert.equal(e.code, 'insufficient_scope');
    assert.equal(e.status, 403);
    assert.match(e.wwwAuthenticate, /^Bearer realm="orders", error="insufficient_scope"/);
    assert.match(e.wwwAuthenticate, /scope="admin"/);
    return true;
  });
  // An argument of the wrong type is refused by name, not handed to the wasm (which would trap).
  for (const realm of [5, {}, ['orders']]) {
    await assert.rejects(verifyAccessToken(token, provider, { now: FIXED_NOW, realm }), (e) => e instanceof GatepassError && e.code === 'invalid_request' && /realm/.test(e.message));
  }
  assert.equal((await verifyAccessToken(token, provider, { now: FIXED_NOW })).sub, 'billing');

  // Expired (exp + 60 s skew), not yet valid, wrong audience, wrong issuer, garbage: 401 invalid_token.
  await rejects(verifyAccessToken(token, provider, { now: FIXED_NOW + 3600 + 61 }), 'invalid_token', 401);
  assert.equal((await verifyAccessToken(token, provider, { now: FIXED_NOW + 3600 + 59 })).sub, 'billing');
  await rejects(verifyAccessToken(token, provider, { now: FIXED_NOW - 3600 }), 'invalid_token', 401);
  await rejects(verifyAccessToken(token, { ...provider, audiences: ['https://other.example'] }, { now: FIXED_NOW }), 'invalid_token', 401);
  await rejects(verifyAccessToken(token, { ...provider, issuer: 'https://evil.example' }, { now: FIXED_NOW }), 'invalid_token', 401);
  await rejects(verifyAccessToken('not.a.jwt', provider, { now: FIXED_NOW }), 'invalid_token', 401);
  const [h, p, s] = token.split('.');
  await rejects(verifyAccessToken(`${h}.${p}.${s.slice(0, -2)}AA`, provider, { now: FIXED_NOW }), 'invalid_token', 401);

  // A token with the right claims signed by a key the provider does not have.
  const rogue = await jose.generateKeyPair('ES256');
  const forged = await new jose.SignJWT(jose.decodeJwt(token))
    .setProtectedHeader({ alg: 'ES256', kid: 'as-2026', typ: 'at+jwt' })
    .sign(rogue.privateKey);
  await rejects(verifyAccessToken(forged, provider, { now: FIXED_NOW }), 'invalid_token', 401);
  // A JWT that is not an access token (typ JWT) is refused (RFC 9068 §4, RFC 8725 §3.11).
  const idLike = await new jose.SignJWT(jose.decodeJwt(token)).setProtectedHeader({ alg: 'ES256', kid: 'as-2026', typ: 'JWT' }).sign(rogue.privateKey);
  await rejects(verifyAccessToken(idLike, provider, { now: FIXED_NOW }), 'invalid_token', 401);
});

test('verifyAccessToken: scope_claims reads the scopes from the claim another issuer uses (permissions)', async () => {
  // A Mia-Platform-style token from another issuer: RS256, typ JWT, a `permissions` array.
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'mia-1', alg: 'RS256' };
  const token = await new jose.SignJWT({ client_id: 'svc', permissions: ['orders:read'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'mia-1', typ: 'JWT' })
    .setIssuer('https://mia.example')
    .setSubject('svc')
    .setAudience(API)
    .setIssuedAt(FIXED_NOW)
    .setExpirationTime(FIXED_NOW + 600)
    .setJti('j1')
    .sign(privateKey);
  const provider = {
    issuer: 'https://mia.example',
    audiences: [API],
    local_jwks: { inline_string: JSON.stringify({ keys: [jwk] }) },
    require_typ: '',
    algorithms: ['RS256'],
  };
  // By default only `scope` carries scopes (RFC 9068): the permissions grant nothing.
  await rejects(verifyAccessToken(token, provider, { now: FIXED_NOW, scopes: 'orders:read' }), 'insufficient_scope', 403);
  const withPermissions = { ...provider, scope_claims: ['scope', 'permissions'] };
  assert.equal((await verifyAccessToken(token, withPermissions, { now: FIXED_NOW, scopes: 'orders:read' })).sub, 'svc');
  await rejects(verifyAccessToken(token, withPermissions, { now: FIXED_NOW, scopes: 'orders:write' }), 'insufficient_scope', 403);
  await rejects(verifyAccessToken(token, { ...provider, scope_claims: [] }, { now: FIXED_NOW }), 'invalid_configuration', undefined);
});

test('verifyAccessToken: required claim values, as a gateway rule has them', async () => {
  const fx = await makeFixture();
  const provider = providerFor(fx.server);
  const token = await fx.server.mintAccessToken({ clientId: 'billing', scope: 'orders:read', audience: [API] });
  // The fixture's tokens carry client_id `billing` and the audience array.
  const ok = await verifyAccessToken(token.access_token, provider, { now: FIXED_NOW, claims: { client_id: 'billing', aud: API } });
  assert.equal(ok.client_id, 'billing');
  await rejects(verifyAccessToken(token.access_token, provider, { now: FIXED_NOW, claims: { client_id: 'other' } }), 'insufficient_scope', 403);
  await rejects(
    verifyAccessToken(token.access_token, provider, { now: FIXED_NOW, scopes: 'orders:read', claims: { tenant: 'acme' } }),
    'insufficient_scope',
    403,
  );
  await assert.rejects(verifyAccessToken(token.access_token, provider, { now: FIXED_NOW, claims: { tenant: 1 } }), (e) => e.code === 'invalid_request');
  await assert.rejects(verifyAccessToken(token.access_token, provider, { now: FIXED_NOW, claims: ['tenant'] }), (e) => e.code === 'invalid_request');
});

test('verifyAccessToken: a bad provider rejects with invalid_configuration', async () => {
  await assert.rejects(verifyAccessToken('x', { issuer: ISSUER }), (e) => e.code === 'invalid_configuration');
  await assert.rejects(
    verifyAccessToken('x', { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: '{"keys": 1}' } }),
    (e) => e.code === 'invalid_configuration' && /local_jwks/.test(e.message),
  );
  await assert.rejects(
    verifyAccessToken('x', { issuer: ISSUER, audiences: [API], remote_jwks: { http_uri: { uri: 'https://as.example/jwks', cluster: 'c', timeout: '1s' } } }),
    (e) => e.code === 'invalid_configuration' && /local/.test(e.message),
  );
  await assert.rejects(verifyAccessToken('x', null), (e) => e.code === 'invalid_configuration');
});

test('verifyAccessToken: the provider may be JSON text; a provider object is read on every call', async () => {
  const fx = await makeFixture();
  const token = await issue(fx);
  const text = JSON.stringify(providerFor(fx.server));
  for (let i = 0; i < 3; i++) assert.equal((await verifyAccessToken(token, text, { now: FIXED_NOW })).sub, 'billing');
  // Keyed by content, not identity: a change to the object after first use is seen.
  const provider = providerFor(fx.server);
  assert.equal((await verifyAccessToken(token, provider, { now: FIXED_NOW })).iss, ISSUER);
  provider.issuer = 'https://changed.example';
  await assert.rejects(verifyAccessToken(token, provider, { now: FIXED_NOW }), (e) => e.code === 'invalid_token');
});

test('generateSigningKey: EdDSA, ES256, RS256, PS256; publicJwks strips private members', () => {
  for (const [alg, kty] of [['EdDSA', 'OKP'], ['ES256', 'EC'], ['RS256', 'RSA'], ['PS256', 'RSA']]) {
    const key = generateSigningKey(alg);
    assert.equal(key.kty, kty, alg);
    assert.equal(typeof key.kid, 'string', alg);
    assert.ok(key.kid.length > 0);
    assert.equal(typeof key.d, 'string', alg);
    const pub = publicJwks(key).keys[0];
    assert.equal(pub.kid, key.kid);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(pub[member], undefined, `${alg} ${member}`);
  }
  const named = generateSigningKey('ES256', '2026-11');
  assert.equal(named.kid, '2026-11');
  assert.equal(publicJwks({ keys: [named, generateSigningKey('EdDSA')] }).keys.length, 2);
  assert.equal(publicJwks([named]).keys.length, 1);
  assert.equal(publicJwks(JSON.stringify(named)).keys[0].kid, '2026-11');
  assert.throws(() => generateSigningKey('HS256'), (e) => e instanceof GatepassError && e.code === 'invalid_request');
  assert.throws(() => generateSigningKey('none'), (e) => e.code === 'invalid_request');
  // An empty kid could never load as a signing key: refused when the key is made.
  assert.throws(() => generateSigningKey('ES256', ''), (e) => e.code === 'invalid_request' && /kid/.test(e.message));
  for (const kid of [5, {}, true]) {
    assert.throws(() => generateSigningKey('ES256', kid), (e) => e instanceof GatepassError && e.code === 'invalid_request' && /kid: must be a string/.test(e.message));
  }
  assert.throws(() => publicJwks({ keys: [{ kty: 'EC' }] }), (e) => e.code === 'invalid_request' && /keys\[0\]/.test(e.message));
});

/** jose's verification of a token of `server` (its JWKS, issuer, audience, RFC 9068 typ). */
function joseVerifies(token, server) {
  return jose.jwtVerify(token, jose.createLocalJWKSet(server.jwks()), {
    issuer: ISSUER,
    audience: API,
    typ: 'at+jwt',
    currentDate: new Date(FIXED_NOW * 1000),
  });
}

test('generated keys sign tokens that jose verifies (EdDSA, RS256, PS256)', async () => {
  for (const alg of ['EdDSA', 'RS256', 'PS256']) {
    const fx = await makeFixture({ configOverrides: { signing_keys: [generateSigningKey(alg, `k-${alg}`)] } });
    const token = await issue(fx);
    const { protectedHeader } = await joseVerifies(token, fx.server);
    assert.equal(protectedHeader.alg, alg === 'EdDSA' ? 'EdDSA' : alg);
    assert.equal((await verifyAccessToken(token, providerFor(fx.server), { now: FIXED_NOW })).sub, 'billing');
  }
});

test('RSA signing keys are made by node:crypto, synchronously or not, and checked by the core', async () => {
  for (const [alg, key] of [
    ['RS256', generateSigningKey('RS256')],
    ['PS384', await generateSigningKeyAsync('PS384', 'k-ps')],
    ['RS512', await generateSigningKeyAsync('RS512')],
  ]) {
    assert.equal(key.alg, alg);
    assert.equal(Buffer.from(key.n, 'base64url').length, 256, `${alg}: 2048-bit modulus (RFC 7518 §3.3)`);
    assert.equal(key.e, 'AQAB');
    // The kid is the RFC 7638 thumbprint unless given, as for the other key types.
    const thumbprint = await jose.calculateJwkThumbprint({ kty: 'RSA', n: key.n, e: key.e });
    assert.equal(key.kid, alg === 'PS384' ? 'k-ps' : thumbprint);
    const fx = await makeFixture({ configOverrides: { signing_keys: [key] } });
    const token = await issue(fx);
    const { protectedHeader } = await joseVerifies(token, fx.server);
    assert.equal(protectedHeader.alg, alg);
  }
  // The other key types are made in the core, either way.
  assert.equal((await generateSigningKeyAsync('ES384')).crv, 'P-384');
  assert.equal((await generateSigningKeyAsync('EdDSA', 'e')).kid, 'e');
  await assert.rejects(generateSigningKeyAsync('HS256'), (e) => e instanceof GatepassError && e.code === 'invalid_request');
  await assert.rejects(generateSigningKeyAsync('RS256', ''), (e) => e.code === 'invalid_request' && /kid/.test(e.message));
  await assert.rejects(generateSigningKeyAsync(7), (e) => e.code === 'invalid_request' && /alg/.test(e.message));
  await assert.rejects(generateSigningKeyAsync('RS256', 5), (e) => e.code === 'invalid_request' && /kid: must be a string/.test(e.message));
});

test('hashClientSecret and generateClientSecret', () => {
  const secret = generateClientSecret();
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  assert.notEqual(generateClientSecret(), secret);
  const hash = hashClientSecret(secret);
  assert.match(hash, /^sha256:[A-Za-z0-9_-]{43}$/);
  assert.equal(hashClientSecret(secret), hash);
  // SHA-256 of the secret's bytes, base64url.
  const expected = 'sha256:' + createHash('sha256').update(secret).digest('base64url');
  assert.equal(hash, expected);
  assert.throws(() => hashClientSecret(42), (e) => e.code === 'invalid_request');
});
