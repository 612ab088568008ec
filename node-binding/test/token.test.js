// Token endpoint through AuthorizationServer.handle: the four client authentication methods
// (RFC 6749 §2.3.1, RFC 7523 §2.2 / OpenID Connect Core §9), RFC 6749 §5.1/§5.2 answers, and the
// tokens checked by verifyAccessToken and by jose's jwtVerify against the served JWKS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { verifyAccessToken } from 'gatepass';
import {
  API,
  ASSERTION_TYPE,
  FIXED_NOW,
  ISSUER,
  JWKS_URL,
  TOKEN_URL,
  assertion,
  basicAuth,
  makeFixture,
  providerFor,
  register,
  tokenRequest,
} from '../test-support/helpers.js';

/** Checks an RFC 6749 §5.1 success answer and the token in it, both ways. */
async function assertIssued(fx, response, { clientId, scope }) {
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.match(response.headers.get('content-type'), /^application\/json/);
  const body = await response.json();
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
  assert.equal(body.scope, scope);
  assert.equal(typeof body.access_token, 'string');

  const claims = await verifyAccessToken(body.access_token, providerFor(fx.server), { now: FIXED_NOW, scopes: scope.split(' ') });
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.sub, clientId);
  assert.equal(claims.client_id, clientId);
  assert.equal(claims.aud, API);
  assert.equal(claims.iat, FIXED_NOW);
  assert.equal(claims.exp, FIXED_NOW + 3600);
  assert.equal(claims.scope, scope);

  // jose, with the JWKS as the server serves it.
  const jwksResponse = await fx.server.handle(new Request(JWKS_URL));
  assert.equal(jwksResponse.status, 200);
  const jwks = await jwksResponse.json();
  const verified = await jose.jwtVerify(body.access_token, jose.createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: API,
    typ: 'at+jwt',
    algorithms: ['ES256'],
    currentDate: new Date(FIXED_NOW * 1000),
  });
  assert.equal(verified.protectedHeader.kid, 'as-2026');
  assert.equal(verified.payload.client_id, clientId);
  assert.equal(typeof verified.payload.jti, 'string');
  return body;
}

async function assertError(response, status, code) {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const body = await response.json();
  assert.equal(body.error, code, JSON.stringify(body));
  return body;
}

test('client_secret_basic: token issued, verified by verifyAccessToken and jose', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', scope: 'orders:read' }, { authorization: basicAuth('billing', fx.secrets.basic) }),
  );
  await assertIssued(fx, response, { clientId: 'billing', scope: 'orders:read' });
});

test('client_secret_basic: no scope asked gives the client its registered scope', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth('billing', fx.secrets.basic) }),
  );
  await assertIssued(fx, response, { clientId: 'billing', scope: 'orders:read orders:write' });
});

test('client_secret_basic: wrong secret is 401 invalid_client with WWW-Authenticate: Basic', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth('billing', fx.secrets.post) }),
  );
  await assertError(response, 401, 'invalid_client');
  assert.match(response.headers.get('www-authenticate'), /^Basic /);
});

test('unknown client is 401 invalid_client', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth('nobody', fx.secrets.basic) }),
  );
  await assertError(response, 401, 'invalid_client');
});

test('client_secret_post: token issued and verified', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_id: 'reports', client_secret: fx.secrets.post }),
  );
  await assertIssued(fx, response, { clientId: 'reports', scope: 'orders:read' });
});

test('client_secret_post: a scope the client does not hold is invalid_scope', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_id: 'reports', client_secret: fx.secrets.post, scope: 'orders:write' }),
  );
  await assertError(response, 400, 'invalid_scope');
});

test('a client may use only its registered method (basic client sending post credentials)', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_id: 'billing', client_secret: fx.secrets.basic }),
  );
  assert.equal((await response.json()).error, 'invalid_client');
});

test('unsupported grant type is unsupported_grant_type', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'password', username: 'a', password: 'b' }, { authorization: basicAuth('billing', fx.secrets.basic) }),
  );
  await assertError(response, 400, 'unsupported_grant_type');
});

test('private_key_jwt: a jose-signed ES256 assertion (aud = issuer, typ client-authentication+jwt) is accepted once', async () => {
  const fx = await makeFixture();
  const jwt = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1' });
  const params = { grant_type: 'client_credentials', scope: 'orders:write', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt };
  const first = await fx.server.handle(tokenRequest(params));
  await assertIssued(fx, first, { clientId: 'worker', scope: 'orders:write' });
  assert.equal(fx.replayStore.size, 1);

  // RFC 7523 §3 item 7: the same jti again is refused.
  const replayed = await fx.server.handle(tokenRequest(params));
  const body = await assertError(replayed, 401, 'invalid_client');
  assert.match(body.error_description, /replay|already|used/i);
});

/** Posts a private_key_jwt assertion from the fixture's `worker` with these options. */
async function workerAssertion(fx, options) {
  const jwt = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1', ...options });
  return fx.server.handle(tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }));
}

// draft-ietf-oauth-rfc7523bis §4 and RFC 8725 §3.11: typ absent, JWT or
// client-authentication+jwt (media types: case-insensitive, application/ optional); any other
// explicit type is a JWT made for something else.
for (const typ of [null, 'JWT', 'jwt', 'application/JWT', 'client-authentication+jwt', 'application/client-authentication+jwt', 'CLIENT-AUTHENTICATION+JWT']) {
  test(`private_key_jwt: typ ${typ ?? 'absent'} is accepted`, async () => {
    const fx = await makeFixture();
    assert.equal((await workerAssertion(fx, { typ })).status, 200);
  });
}

for (const typ of ['at+jwt', 'application/at+jwt', 'dpop+jwt', 'JOSE']) {
  test(`private_key_jwt: typ ${typ} is refused with invalid_client naming typ`, async () => {
    const fx = await makeFixture();
    const body = await assertError(await workerAssertion(fx, { typ }), 401, 'invalid_client');
    assert.match(body.error_description, /typ/);
    assert.equal(fx.replayStore.size, 0, 'a refused assertion records no jti');
  });
}

test('private_key_jwt: require_explicit_assertion_typ accepts client-authentication+jwt only', async () => {
  const fx = await makeFixture({ configOverrides: { require_explicit_assertion_typ: true } });
  assert.equal((await workerAssertion(fx, { typ: 'client-authentication+jwt' })).status, 200);
  for (const typ of ['JWT', null, 'at+jwt']) {
    const body = await assertError(await workerAssertion(fx, { typ }), 401, 'invalid_client');
    assert.match(body.error_description, /typ/, `typ ${typ}`);
  }
});

test('private_key_jwt: a 3600 s assertion (Authlib) is accepted by default, 3601 s is refused', async () => {
  const fx = await makeFixture();
  assert.equal((await workerAssertion(fx, { typ: 'JWT', lifetime: 3600 })).status, 200);
  await assertError(await workerAssertion(fx, { typ: 'JWT', lifetime: 3601 }), 401, 'invalid_client');
});

test('private_key_jwt: assertion_max_lifetime tightens the bound', async () => {
  const fx = await makeFixture({ configOverrides: { assertion_max_lifetime: '600s' } });
  assert.equal((await workerAssertion(fx, { lifetime: 600 })).status, 200);
  await assertError(await workerAssertion(fx, { lifetime: 3600 }), 401, 'invalid_client');
});

test('a misspelt require_explicit_assertion_typ is refused by name', async () => {
  await assert.rejects(makeFixture({ configOverrides: { require_explicit_assertion_type: true } }), (e) => {
    assert.equal(e.code, 'invalid_configuration');
    assert.match(e.message, /require_explicit_assertion_type/);
    return true;
  });
});

test('private_key_jwt: the token endpoint URL as aud is refused by default (rfc7523bis)', async () => {
  const fx = await makeFixture();
  const jwt = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1', aud: TOKEN_URL });
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }),
  );
  await assertError(response, 401, 'invalid_client');
  assert.equal(fx.replayStore.size, 0, 'a refused assertion records no jti');
});

test('private_key_jwt: an assertion signed by another key is refused', async () => {
  const fx = await makeFixture();
  const other = await jose.generateKeyPair('ES256');
  const jwt = await assertion(other.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1' });
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }),
  );
  await assertError(response, 401, 'invalid_client');
});

test('private_key_jwt: an expired assertion is refused', async () => {
  const fx = await makeFixture();
  const jwt = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1', now: FIXED_NOW - 1000 });
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }),
  );
  await assertError(response, 401, 'invalid_client');
});

test('client_secret_jwt: HS256 assertion made by jose with the secret from registration, once', async () => {
  const fx = await makeFixture();
  const { response, body: registered } = await register(fx, { token_endpoint_auth_method: 'client_secret_jwt', client_name: 'hmac client' });
  assert.equal(response.status, 201);
  assert.equal(typeof registered.client_secret, 'string');
  const key = new TextEncoder().encode(registered.client_secret);
  const jwt = await assertion(key, { clientId: registered.client_id, alg: 'HS256' });
  const params = { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt };
  const first = await fx.server.handle(tokenRequest(params));
  await assertIssued(fx, first, { clientId: registered.client_id, scope: 'orders:read' });
  const replayed = await fx.server.handle(tokenRequest(params));
  await assertError(replayed, 401, 'invalid_client');
});

test('client_secret_jwt: configured client, assertion with the wrong secret is refused', async () => {
  const fx = await makeFixture();
  const good = await assertion(new TextEncoder().encode(fx.secrets.jwt), { clientId: 'hmac-worker', alg: 'HS256' });
  const ok = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: good }),
  );
  await assertIssued(fx, ok, { clientId: 'hmac-worker', scope: 'orders:read' });
  const bad = await assertion(new TextEncoder().encode(fx.secrets.basic), { clientId: 'hmac-worker', alg: 'HS256' });
  const refused = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: bad }),
  );
  await assertError(refused, 401, 'invalid_client');
});

test('a replay store answering false refuses the assertion (the store decides)', async () => {
  const seen = [];
  const fx = await makeFixture({ replayStore: { insertIfAbsent: async (key, expiresAt) => (seen.push({ key, expiresAt }), false) } });
  const jwt = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1' });
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }),
  );
  await assertError(response, 401, 'invalid_client');
  assert.equal(seen.length, 1);
  assert.match(seen[0].key, /^[A-Za-z0-9_-]{43}$/);
  // Kept until the assertion's exp plus the clock skew (60 s).
  assert.equal(seen[0].expiresAt, FIXED_NOW + 120 + 60);
});
