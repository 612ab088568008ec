// RFC 7591 registration and RFC 7592 read/update/delete through AuthorizationServer.handle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizationServer, MemoryClientStore, generateSigningKey } from 'gatepass';
import {
  ISSUER,
  REGISTER_URL,
  basicAuth,
  makeFixture,
  register,
  tokenRequest,
} from '../test-support/helpers.js';

function registerRequest(body, authorization) {
  return new Request(REGISTER_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
}

function manage(uri, method, token, body) {
  return new Request(uri, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

async function tokenWith(fx, clientId, secret) {
  return fx.server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth(clientId, secret) }));
}

test('registration requires the initial access token when one is configured (RFC 7591 §3)', async () => {
  const fx = await makeFixture();
  const missing = await fx.server.handle(registerRequest({ client_name: 'x' }));
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get('www-authenticate'), /^Bearer /);

  const wrong = await fx.server.handle(registerRequest({ client_name: 'x' }, 'Bearer not-the-token'));
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate'), /error="invalid_token"/);
  assert.equal((await wrong.json()).error, 'invalid_token');
  assert.equal(fx.clientStore.size, 0, 'nothing stored');
});

test('register (201), get a token, read, update, delete (RFC 7591 §3.2.1, RFC 7592 §2)', async () => {
  const fx = await makeFixture();
  const { response, body } = await register(fx, { client_name: 'Billing export', scope: 'orders:read' });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.equal(body.token_endpoint_auth_method, 'client_secret_basic');
  assert.deepEqual(body.grant_types, ['client_credentials']);
  assert.equal(body.client_name, 'Billing export');
  assert.equal(body.scope, 'orders:read');
  assert.equal(body.client_secret_expires_at, 0);
  assert.equal(typeof body.client_secret, 'string');
  assert.equal(typeof body.registration_access_token, 'string');
  assert.equal(body.registration_client_uri, `${ISSUER}/oauth/register/${body.client_id}`);
  assert.equal(fx.clientStore.size, 1);
  const stored = await fx.clientStore.get(body.client_id);
  assert.equal(typeof stored, 'string');
  assert.ok(!stored.includes(body.client_secret), 'the store keeps a hash, not the secret');
  assert.ok(!stored.includes(body.registration_access_token), 'nor the registration access token');

  // The new client gets tokens.
  const token = await tokenWith(fx, body.client_id, body.client_secret);
  assert.equal(token.status, 200);
  assert.equal((await token.json()).scope, 'orders:read');

  // RFC 7592 §2.1 read: the metadata, without the secret.
  const read = await fx.server.handle(manage(body.registration_client_uri, 'GET', body.registration_access_token));
  assert.equal(read.status, 200);
  const readBody = await read.json();
  assert.equal(readBody.client_id, body.client_id);
  assert.equal(readBody.client_name, 'Billing export');
  assert.equal(readBody.client_secret, undefined);
  assert.equal(readBody.registration_access_token, undefined);

  // Wrong registration access token: 401 invalid_token, same answer as an unknown client.
  const wrong = await fx.server.handle(manage(body.registration_client_uri, 'GET', body.client_secret));
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, 'invalid_token');
  const unknown = await fx.server.handle(manage(`${REGISTER_URL}/nosuchclient`, 'GET', body.registration_access_token));
  assert.equal(unknown.status, 401);
  assert.equal((await unknown.json()).error, 'invalid_token');

  // RFC 7592 §2.2 update: full replacement, client_id required.
  const update = await fx.server.handle(
    manage(body.registration_client_uri, 'PUT', body.registration_access_token, {
      client_id: body.client_id,
      client_name: 'Billing export v2',
      scope: 'orders:read orders:write',
    }),
  );
  assert.equal(update.status, 200);
  const updated = await update.json();
  assert.equal(updated.client_name, 'Billing export v2');
  assert.equal(updated.scope, 'orders:read orders:write');
  const reread = await (await fx.server.handle(manage(body.registration_client_uri, 'GET', body.registration_access_token))).json();
  assert.equal(reread.client_name, 'Billing export v2');
  const wider = await tokenWith(fx, body.client_id, body.client_secret);
  assert.equal((await wider.json()).scope, 'orders:read orders:write');

  // An update without client_id is refused and changes nothing.
  const badUpdate = await fx.server.handle(
    manage(body.registration_client_uri, 'PUT', body.registration_access_token, { client_name: 'no id' }),
  );
  assert.equal(badUpdate.status, 400);
  assert.equal((await badUpdate.json()).error, 'invalid_client_metadata');

  // RFC 7592 §2.3 delete: 204, then the client is gone.
  const del = await fx.server.handle(manage(body.registration_client_uri, 'DELETE', body.registration_access_token));
  assert.equal(del.status, 204);
  assert.equal(await del.text(), '');
  assert.equal(fx.clientStore.size, 0);
  const after = await fx.server.handle(manage(body.registration_client_uri, 'GET', body.registration_access_token));
  assert.equal(after.status, 401);
  const noToken = await tokenWith(fx, body.client_id, body.client_secret);
  assert.equal(noToken.status, 401);
  assert.equal((await noToken.json()).error, 'invalid_client');
});

test('private_key_jwt registration stores the public JWKS; no secret is issued', async () => {
  const fx = await makeFixture();
  const { response, body } = await register(fx, {
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [fx.clientJwk] },
    token_endpoint_auth_signing_alg: 'ES256',
  });
  assert.equal(response.status, 201);
  assert.equal(body.client_secret, undefined);
  assert.equal(body.client_secret_expires_at, undefined);
  assert.equal(body.jwks.keys[0].kid, 'worker-1');
});

test('invalid client metadata is 400 invalid_client_metadata (RFC 7591 §3.2.2)', async () => {
  const fx = await makeFixture();
  for (const metadata of [
    { scope: 'admin' },
    { grant_types: ['authorization_code'] },
    { redirect_uris: ['https://app.example/cb'] },
    { token_endpoint_auth_method: 'private_key_jwt' },
    { token_endpoint_auth_method: 'none' },
  ]) {
    const { response, body } = await register(fx, metadata);
    assert.equal(response.status, 400, JSON.stringify(metadata));
    assert.equal(body.error, 'invalid_client_metadata', JSON.stringify(metadata));
  }
  const notJson = await fx.server.handle(
    new Request(REGISTER_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fx.secrets.initialAccessToken}` },
      body: '{"client_name": ',
    }),
  );
  assert.equal(notJson.status, 400);
  assert.equal(fx.clientStore.size, 0);
});

test('open registration when no initial access token is configured', async () => {
  const store = new MemoryClientStore();
  const server = new AuthorizationServer({
    config: {
      issuer: ISSUER,
      signing_keys: [generateSigningKey('EdDSA')],
      default_audiences: ['https://api.example'],
      registration: { allowed_scope: 'a b', open_registration: true },
    },
    clientStore: store,
  });
  const response = await server.handle(registerRequest({ scope: 'a' }));
  assert.equal(response.status, 201);
  assert.equal(store.size, 1);
});

test('without a registration section the registration paths are 404', async () => {
  const server = new AuthorizationServer({
    config: { issuer: ISSUER, signing_keys: [generateSigningKey('EdDSA')], default_audiences: ['https://api.example'] },
  });
  assert.equal((await server.handle(registerRequest({}))).status, 404);
  assert.equal((await server.handle(new Request(`${REGISTER_URL}/abc`))).status, 404);
  const metadata = server.metadata();
  assert.equal(metadata.registration_endpoint, undefined);
});

test('configured clients cannot be managed through RFC 7592', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(manage(`${REGISTER_URL}/billing`, 'GET', fx.secrets.basic));
  assert.equal(response.status, 401);
});
