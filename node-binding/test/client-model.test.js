// The client model (issue 15) through the npm server: per-client token lifetimes, audiences named
// with `resource` or `audience`, static claims, the disabled state and RFC 7662 introspection —
// checked with oauth4webapi (introspection, client credentials) and jose (the tokens), two
// libraries nobody here wrote. The server runs on the real clock, as oauth4webapi dates its
// assertions with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { API, ISSUER, METADATA_URL, basicAuth, makeFixture, register, tokenRequest } from '../test-support/helpers.js';

const BILLING_API = 'https://billing.example';
const INTROSPECT_URL = `${ISSUER}/oauth/introspect`;

function inProcess(server) {
  return { [oauth.customFetch]: (url, init) => server.handle(new Request(url, init)) };
}

async function fixture(clientSettings, configOverrides = {}) {
  return makeFixture({ realClock: true, clientSettings, configOverrides });
}

async function metadata(fx) {
  return (await fx.server.handle(new Request(METADATA_URL))).json();
}

async function basicToken(fx, params = {}) {
  const response = await fx.server.handle(tokenRequest({ grant_type: 'client_credentials', ...params }, { authorization: basicAuth('billing', fx.secrets.basic) }));
  return { status: response.status, body: await response.json() };
}

function introspectRequest(fx, token, clientId = 'reports', secret = fx.secrets.post) {
  return new Request(INTROSPECT_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: clientId, client_secret: secret }).toString(),
  });
}

test('oauth4webapi introspects a token: active with its claims, then inactive when it no longer counts', async () => {
  const fx = await fixture({
    billing: { claims: { tenant: 'acme', groups: ['billing'] } },
    reports: { introspection: true },
    worker: { introspection: true },
  });
  const as = await metadata(fx);
  assert.equal(as.introspection_endpoint, INTROSPECT_URL);
  assert.ok(as.introspection_endpoint_auth_methods_supported.includes('private_key_jwt'));
  const { body: issued } = await basicToken(fx, { scope: 'orders:read' });

  // client_secret_post, as oauth4webapi sends it.
  const response = await oauth.introspectionRequest(as, { client_id: 'reports' }, oauth.ClientSecretPost(fx.secrets.post), issued.access_token, inProcess(fx.server));
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const active = await oauth.processIntrospectionResponse(as, { client_id: 'reports' }, response);
  assert.equal(active.active, true);
  assert.equal(active.client_id, 'billing');
  assert.equal(active.sub, 'billing');
  assert.equal(active.scope, 'orders:read');
  assert.equal(active.iss, ISSUER);
  assert.equal(active.token_type, 'Bearer');
  assert.equal(active.tenant, 'acme');
  assert.deepEqual(active.groups, ['billing']);

  // private_key_jwt, as oauth4webapi signs it; a tampered token is only `active: false`.
  const [h, p, s] = issued.access_token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'orders:write' })).toString('base64url')}.${s}`;
  const auth = oauth.PrivateKeyJwt({ key: fx.clientKeys.privateKey, kid: 'worker-1' });
  const inactive = await oauth.processIntrospectionResponse(
    as,
    { client_id: 'worker' },
    await oauth.introspectionRequest(as, { client_id: 'worker' }, auth, tampered, inProcess(fx.server)),
  );
  assert.deepEqual(inactive, { active: false });
});

test('introspection: callers without the setting, bad credentials and malformed requests are refused', async () => {
  const fx = await fixture({ reports: { introspection: true } });
  const { body: issued } = await basicToken(fx);
  // billing may not introspect.
  const notAllowed = await fx.server.handle(
    new Request(INTROSPECT_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth('billing', fx.secrets.basic) },
      body: new URLSearchParams({ token: issued.access_token }).toString(),
    }),
  );
  assert.equal(notAllowed.status, 400);
  assert.equal((await notAllowed.json()).error, 'unauthorized_client');
  const wrong = await fx.server.handle(introspectRequest(fx, issued.access_token, 'reports', 'wrong'));
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, 'invalid_client');
  const noToken = await fx.server.handle(introspectRequest(fx, ''));
  assert.equal(noToken.status, 400);
  assert.equal((await noToken.json()).error, 'invalid_request');
  const get = await fx.server.handle(new Request(INTROSPECT_URL));
  assert.equal(get.status, 405);
  // An expired or foreign token: active false, nothing else.
  const foreign = await new jose.SignJWT({ client_id: 'billing' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'as-2026' })
    .setIssuer(ISSUER).setAudience(API).setSubject('billing').setIssuedAt().setExpirationTime('1h')
    .sign(fx.clientKeys.privateKey);
  const answer = await fx.server.handle(introspectRequest(fx, foreign));
  assert.deepEqual(await answer.json(), { active: false });
});

test('jose verifies tokens with the client claims, its own lifetime and the audience it asked for', async () => {
  const fx = await fixture(
    { billing: { audiences: [API, BILLING_API], claims: { tenant: 'acme' }, token_ttl: 600 } },
    { max_token_ttl: 3600 },
  );
  const jwks = jose.createLocalJWKSet(fx.server.jwks());
  const as = await metadata(fx);
  // oauth4webapi's client credentials grant with the `audience` parameter.
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    { client_id: 'billing' },
    oauth.ClientSecretBasic(fx.secrets.basic),
    new URLSearchParams({ audience: BILLING_API }),
    inProcess(fx.server),
  );
  const result = await oauth.processClientCredentialsResponse(as, { client_id: 'billing' }, response);
  assert.equal(result.expires_in, 600);
  const { payload } = await jose.jwtVerify(result.access_token, jwks, { issuer: ISSUER, audience: BILLING_API, typ: 'at+jwt' });
  assert.equal(payload.aud, BILLING_API);
  assert.equal(payload.tenant, 'acme');
  assert.equal(payload.exp - payload.iat, 600);
  // Not for the other audience.
  await assert.rejects(jose.jwtVerify(result.access_token, jwks, { issuer: ISSUER, audience: API }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  // RFC 8707 resource works the same; both at once is invalid_request; another audience invalid_target.
  assert.equal((await basicToken(fx, { resource: BILLING_API })).status, 200);
  const both = await basicToken(fx, { resource: API, audience: API });
  assert.deepEqual([both.status, both.body.error], [400, 'invalid_request']);
  const other = await basicToken(fx, { audience: 'https://other.example' });
  assert.deepEqual([other.status, other.body.error], [400, 'invalid_target']);
});

test('require_audience: a request that names none is invalid_target', async () => {
  const fx = await fixture({}, { require_audience: true });
  const none = await basicToken(fx);
  assert.deepEqual([none.status, none.body.error], [400, 'invalid_target']);
  assert.equal((await basicToken(fx, { audience: API })).status, 200);
});

test('a disabled client gets the answer of a wrong secret; the operator enables it with updateClient', async () => {
  const fx = await fixture({ billing: { disabled: true } });
  const disabled = await fx.server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth('billing', fx.secrets.basic) }));
  const wrong = await fx.server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth('billing', 'wrong') }));
  assert.equal(disabled.status, 401);
  assert.deepEqual([...disabled.headers], [...wrong.headers]);
  assert.equal(await disabled.text(), await wrong.text());

  // A registered client, disabled and enabled again in its store by the operator.
  const { body: registered } = await register(fx, { token_endpoint_auth_method: 'client_secret_basic' });
  const ask = () =>
    fx.server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth(registered.client_id, registered.client_secret) }));
  assert.equal((await ask()).status, 200);
  assert.equal(await fx.server.updateClient(registered.client_id, { disabled: true, claims: { tenant: 'acme' } }), true);
  assert.equal((await ask()).status, 401);
  assert.equal(await fx.server.updateClient(registered.client_id, { disabled: false }), true);
  const back = await ask();
  assert.equal(back.status, 200);
  const { payload } = await jose.jwtVerify((await back.json()).access_token, jose.createLocalJWKSet(fx.server.jwks()), { issuer: ISSUER });
  assert.equal(payload.tenant, 'acme');
  // Refusals name the field; an unknown client is false.
  await assert.rejects(fx.server.updateClient(registered.client_id, { claims: { iss: 'x' } }), { code: 'invalid_client_change', message: /claims\.iss/ });
  await assert.rejects(fx.server.updateClient(registered.client_id, { enabled: true }), TypeError);
  assert.equal(await fx.server.updateClient('nobody', { disabled: true }), false);
});

test('registration: allowed claims and a bounded token_ttl; introspection is the operator\'s', async () => {
  const fx = await fixture({}, {
    max_token_ttl: 3600,
    registration: {
      allowed_scope: 'orders:read', open_registration: true, allowed_claims: ['team'],
    },
  });
  const post = (doc) =>
    fx.server.handle(new Request(`${ISSUER}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) }));
  const ok = await post({ claims: { team: 'payments' }, token_ttl: 900 });
  assert.equal(ok.status, 201);
  const registered = await ok.json();
  assert.deepEqual(registered.claims, { team: 'payments' });
  assert.equal(registered.token_ttl, 900);
  for (const [doc, field] of [
    [{ claims: { tenant: 'acme' } }, 'claims.tenant'],
    [{ claims: { sub: 'admin' } }, 'claims.sub'],
    [{ token_ttl: 7200 }, 'token_ttl'],
    [{ introspection: true }, 'introspection'],
  ]) {
    const refused = await post(doc);
    assert.equal(refused.status, 400, JSON.stringify(doc));
    const body = await refused.json();
    assert.equal(body.error, 'invalid_client_metadata');
    assert.ok(body.error_description.startsWith(`${field}:`), body.error_description);
  }
  const token = await fx.server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth(registered.client_id, registered.client_secret) }));
  assert.equal((await token.json()).expires_in, 900);
});
