// Interop with oauth4webapi (3.x), a client library nobody here wrote: it obtains tokens with
// each of its four client authentication methods, registers a client (RFC 7591) and validates
// the tokens as a resource server (RFC 9068). The server runs on the real clock, since
// oauth4webapi dates its assertions with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { AuthorizationServer, MemoryClientStore, generateSigningKey, hashClientSecret, generateClientSecret, verifyAccessToken } from 'gatepass';
import { API, ISSUER, METADATA_URL, makeFixture } from '../test-support/helpers.js';
import { listen } from '../test-support/http-adapter.js';

/** oauth4webapi's customFetch: every request goes straight into `handle`. */
function inProcess(server) {
  return { [oauth.customFetch]: (url, init) => server.handle(new Request(url, init)) };
}

/** The AuthorizationServer object built from the metadata the server serves (no discovery). */
async function servedMetadata(server) {
  const response = await server.handle(new Request(METADATA_URL));
  assert.equal(response.status, 200);
  return response.json();
}

async function obtain(fx, as, client, auth, parameters = {}) {
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams(parameters), inProcess(fx.server));
  const result = await oauth.processClientCredentialsResponse(as, client, response);
  assert.equal(result.token_type, 'bearer');
  assert.ok(result.expires_in > 0);
  return result;
}

async function checkToken(fx, as, accessToken, clientId) {
  // gatepass's own verifier, on the real clock.
  const provider = { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(fx.server.jwks()) } };
  assert.equal((await verifyAccessToken(accessToken, provider)).client_id, clientId);
  // oauth4webapi as an RFC 9068 resource server, fetching the JWKS from jwks_uri.
  const claims = await oauth.validateJwtAccessToken(
    as,
    new Request(`${API}/orders`, { headers: { authorization: `Bearer ${accessToken}` } }),
    API,
    inProcess(fx.server),
  );
  assert.equal(claims.client_id, clientId);
  assert.equal(claims.sub, clientId);
  // jose against the served JWKS.
  const jwks = await (await fx.server.handle(new Request(as.jwks_uri))).json();
  await jose.jwtVerify(accessToken, jose.createLocalJWKSet(jwks), { issuer: ISSUER, audience: API, typ: 'at+jwt' });
}

test('oauth4webapi ClientSecretBasic', async () => {
  const fx = await makeFixture({ realClock: true });
  const as = await servedMetadata(fx.server);
  const client = { client_id: 'billing' };
  const result = await obtain(fx, as, client, oauth.ClientSecretBasic(fx.secrets.basic), { scope: 'orders:read' });
  assert.equal(result.scope, 'orders:read');
  await checkToken(fx, as, result.access_token, 'billing');
});

test('oauth4webapi ClientSecretPost', async () => {
  const fx = await makeFixture({ realClock: true });
  const as = await servedMetadata(fx.server);
  const result = await obtain(fx, as, { client_id: 'reports' }, oauth.ClientSecretPost(fx.secrets.post));
  await checkToken(fx, as, result.access_token, 'reports');
});

test('oauth4webapi ClientSecretJwt (HS256, aud = issuer), configured client', async () => {
  const fx = await makeFixture({ realClock: true });
  const as = await servedMetadata(fx.server);
  const result = await obtain(fx, as, { client_id: 'hmac-worker' }, oauth.ClientSecretJwt(fx.secrets.jwt));
  await checkToken(fx, as, result.access_token, 'hmac-worker');
  // Each request carries a fresh jti; both were recorded.
  await obtain(fx, as, { client_id: 'hmac-worker' }, oauth.ClientSecretJwt(fx.secrets.jwt));
  assert.equal(fx.replayStore.size, 2);
});

test('oauth4webapi PrivateKeyJwt (ES256, aud = issuer, no typ)', async () => {
  const fx = await makeFixture({ realClock: true });
  const as = await servedMetadata(fx.server);
  const auth = oauth.PrivateKeyJwt({ key: fx.clientKeys.privateKey, kid: 'worker-1' });
  const result = await obtain(fx, as, { client_id: 'worker' }, auth, { scope: 'orders:write' });
  assert.equal(result.scope, 'orders:write');
  await checkToken(fx, as, result.access_token, 'worker');
});

test('oauth4webapi: a replayed PrivateKeyJwt assertion is refused', async () => {
  const fx = await makeFixture({ realClock: true });
  const as = await servedMetadata(fx.server);
  let captured;
  const capture = {
    [oauth.customFetch]: async (url, init) => {
      captured = { url, init: { ...init, body: init.body.toString() } };
      return fx.server.handle(new Request(url, init));
    },
  };
  const auth = oauth.PrivateKeyJwt({ key: fx.clientKeys.privateKey, kid: 'worker-1' });
  const first = await oauth.clientCredentialsGrantRequest(as, { client_id: 'worker' }, auth, new URLSearchParams(), capture);
  await oauth.processClientCredentialsResponse(as, { client_id: 'worker' }, first);
  const replay = await fx.server.handle(new Request(captured.url, captured.init));
  assert.equal(replay.status, 401);
  assert.equal((await replay.clone().json()).error, 'invalid_client');
  // The core answers every invalid_client with 401 + a Basic challenge, which oauth4webapi
  // surfaces as a WWWAuthenticateChallengeError.
  await assert.rejects(oauth.processClientCredentialsResponse(as, { client_id: 'worker' }, replay), (e) => {
    assert.ok(e instanceof oauth.WWWAuthenticateChallengeError || e instanceof oauth.ResponseBodyError, String(e));
    assert.equal(e.status, 401);
    return true;
  });
});

test('oauth4webapi dynamicClientRegistrationRequest, then a token for the new client', async () => {
  const fx = await makeFixture({ realClock: true });
  const as = await servedMetadata(fx.server);
  const response = await oauth.dynamicClientRegistrationRequest(
    as,
    { client_name: 'registered by oauth4webapi', token_endpoint_auth_method: 'client_secret_post' },
    { initialAccessToken: fx.secrets.initialAccessToken, ...inProcess(fx.server) },
  );
  const registered = await oauth.processDynamicClientRegistrationResponse(response);
  const result = await obtain(fx, as, { client_id: registered.client_id }, oauth.ClientSecretPost(registered.client_secret));
  await checkToken(fx, as, result.access_token, registered.client_id);
});

test('over loopback HTTP (node:http + fetch): metadata, PrivateKeyJwt and ClientSecretBasic', async () => {
  let server;
  const http = await listen((request) => server.handle(request));
  try {
    const basicSecret = generateClientSecret();
    const clientKeys = await jose.generateKeyPair('ES256');
    const clientJwk = { ...(await jose.exportJWK(clientKeys.publicKey)), kid: 'w', alg: 'ES256' };
    server = new AuthorizationServer({
      config: {
        issuer: http.origin, // http is allowed for a loopback issuer
        signing_keys: [generateSigningKey('EdDSA', 'edge')],
        default_audiences: [API],
        clients: [
          { client_id: 'billing', client_secret_hash: hashClientSecret(basicSecret), scope: 'orders:read' },
          { client_id: 'worker', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientJwk] }, scope: 'orders:read' },
        ],
      },
      clientStore: new MemoryClientStore(),
    });
    const insecure = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(new URL(http.origin), await oauth.discoveryRequest(new URL(http.origin), { ...insecure, algorithm: 'oauth2' }));
    assert.equal(as.token_endpoint, `${http.origin}/oauth/token`);
    for (const [client, auth] of [
      [{ client_id: 'worker' }, oauth.PrivateKeyJwt({ key: clientKeys.privateKey, kid: 'w' })],
      [{ client_id: 'billing' }, oauth.ClientSecretBasic(basicSecret)],
    ]) {
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams(), insecure);
      const result = await oauth.processClientCredentialsResponse(as, client, response);
      const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
      const { payload } = await jose.jwtVerify(result.access_token, jwks, { issuer: http.origin, audience: API, typ: 'at+jwt' });
      assert.equal(payload.client_id, client.client_id);
    }
    const notFound = await fetch(`${http.origin}/nothing`);
    assert.equal(notFound.status, 404);
  } finally {
    await http.close();
  }
});

// oauth4webapi 3.x signs Ed25519 assertions with the RFC 9864 fully-specified `alg: "Ed25519"`;
// the core treats it as the same algorithm as `EdDSA` for Ed25519 keys.
test('oauth4webapi PrivateKeyJwt with an Ed25519 key (alg "Ed25519", RFC 9864)', async () => {
  const keys = await jose.generateKeyPair('EdDSA');
  const jwk = { ...(await jose.exportJWK(keys.publicKey)), kid: 'ed' };
  const server = new AuthorizationServer({
    config: {
      issuer: ISSUER,
      signing_keys: [generateSigningKey('EdDSA')],
      default_audiences: [API],
      clients: [{ client_id: 'ed-worker', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } }],
    },
  });
  const as = server.metadata();
  let header;
  const fetcher = {
    [oauth.customFetch]: (url, init) => {
      header = JSON.parse(Buffer.from(init.body.get('client_assertion').split('.')[0], 'base64url'));
      return server.handle(new Request(url, init));
    },
  };
  const response = await oauth.clientCredentialsGrantRequest(as, { client_id: 'ed-worker' }, oauth.PrivateKeyJwt({ key: keys.privateKey, kid: 'ed' }), new URLSearchParams(), fetcher);
  assert.equal(header.alg, 'Ed25519');
  await oauth.processClientCredentialsResponse(as, { client_id: 'ed-worker' }, response);
});
