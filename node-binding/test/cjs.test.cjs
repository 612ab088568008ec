// The CommonJS entry: require('gatepass') (exports condition node.require -> js/node.cjs).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const gatepass = require('gatepass');

const ISSUER = 'https://as.example';
const API = 'https://api.example';
const NOW = 1_800_000_000;

test('require("gatepass") signs and verifies through node:crypto, as the ESM entry does', () => {
  assert.equal(require('../dist/cjs/signer.cjs').signerName(), 'node:crypto');
});

test('require("gatepass") exposes the whole API', () => {
  for (const name of [
    'AuthorizationServer',
    'GatepassError',
    'MemoryClientStore',
    'MemoryReplayStore',
    'KVClientStore',
    'DurableObjectReplayStore',
    'ReplayGuard',
    'verifyAccessToken',
    'mintAccessToken',
    'generateSigningKey',
    'generateSigningKeyAsync',
    'publicJwks',
    'hashClientSecret',
    'generateClientSecret',
  ]) {
    assert.equal(typeof gatepass[name], 'function', name);
  }
  assert.equal(require.resolve('gatepass'), require('node:path').join(__dirname, '..', 'js', 'node.cjs'));
});

test('require("gatepass"): configuration error, token, registration, verification', async () => {
  const { AuthorizationServer, GatepassError, generateSigningKey, generateClientSecret, hashClientSecret, verifyAccessToken } = gatepass;
  assert.throws(
    () => new AuthorizationServer({ config: { issuer: ISSUER, signing_keys: [], clients: 'x' } }),
    (e) => e instanceof GatepassError && e.code === 'invalid_configuration',
  );
  const secret = generateClientSecret();
  const server = new AuthorizationServer({
    config: {
      issuer: ISSUER,
      // RS256: made by node:crypto synchronously (the CJS entry puts it in place for keys too).
      signing_keys: [generateSigningKey('RS256', 'cjs')],
      default_audiences: [API],
      clients: [{ client_id: 'billing', client_secret_hash: hashClientSecret(secret), scope: 'orders:read' }],
      registration: { allowed_scope: 'orders:read', open_registration: true },
    },
    now: () => NOW,
  });
  const response = await server.handle(
    new Request(`${ISSUER}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`billing:${secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    }),
  );
  assert.equal(response.status, 200);
  const { access_token: token } = await response.json();
  const provider = { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(server.jwks()) } };
  const claims = await verifyAccessToken(token, provider, { now: NOW, scopes: ['orders:read'] });
  assert.equal(claims.client_id, 'billing');
  await assert.rejects(verifyAccessToken(token, provider, { now: NOW, scopes: ['orders:write'] }), (e) => {
    return e instanceof GatepassError && e.code === 'insufficient_scope' && e.status === 403;
  });

  const registered = await server.handle(
    new Request(`${ISSUER}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
  );
  assert.equal(registered.status, 201);
  assert.equal(server.clientStore.size, 1);
});
