// workerd (npm `workerd`, the Cloudflare Workers runtime): a Worker importing the packed
// package's `workerd` entry, with the wasm embedded as a Wasm module and a Durable Object
// namespace for the replay store, served on loopback and driven over HTTP
// (../test-support/workerd.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { generateClientSecret, generateSigningKey, hashClientSecret } from 'gatepass';
import { startWorkerd } from '../test-support/workerd.js';

const API = 'https://api.example';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const WORKER = `
import { AuthorizationServer, DurableObjectReplayStore, GatepassError, MemoryClientStore, generateSigningKey, generateSigningKeyAsync, mintAccessToken, publicJwks, verifyAccessToken } from 'gatepass';
export { ReplayGuard } from 'gatepass';

let server;
let provider;

export default {
  async fetch(request, env) {
    server ??= new AuthorizationServer({
      config: env.CONFIG,
      clientStore: new MemoryClientStore(),
      replayStore: new DurableObjectReplayStore(env.REPLAY),
    });
    const url = new URL(request.url);
    if (url.pathname === '/test/verify') {
      provider ??= { issuer: server.issuer, audiences: ['${API}'], local_jwks: { inline_string: JSON.stringify(server.jwks()) } };
      const token = (request.headers.get('authorization') ?? '').replace(/^Bearer /, '');
      try {
        return Response.json(await verifyAccessToken(token, provider, { scopes: url.searchParams.getAll('scope') }));
      } catch (e) {
        return Response.json({ code: e.code }, { status: e.status ?? 500, headers: { 'www-authenticate': e.wwwAuthenticate ?? '' } });
      }
    }
    if (url.pathname === '/test/rsa-key') {
      // RSA keys come from workerd's WebCrypto, asynchronously; the synchronous call says so.
      let refused;
      try {
        generateSigningKey('RS256');
      } catch (e) {
        refused = { code: e.code, message: e.message };
      }
      const key = await generateSigningKeyAsync('PS256');
      const minted = await mintAccessToken({ issuer: 'https://edge.example', signingKey: key, clientId: 'c', audience: '${API}' });
      return Response.json({ refused, token: minted.access_token, jwks: publicJwks(key), members: Object.keys(key).sort() });
    }
    if (url.pathname === '/test/config-error') {
      try {
        new AuthorizationServer({ config: { issuer: 'https://x.example', signing_keys: [], bogus: true } });
        return new Response('no error', { status: 500 });
      } catch (e) {
        return Response.json({ isGatepassError: e instanceof GatepassError, code: e.code, message: e.message });
      }
    }
    return server.handle(request);
  },
};
`;

let workerd;
let origin;
const fx = {};

before(async () => {
  fx.basicSecret = generateClientSecret();
  fx.initialAccessToken = generateClientSecret();
  fx.clientKeys = await jose.generateKeyPair('ES256');
  const clientJwk = { ...(await jose.exportJWK(fx.clientKeys.publicKey)), kid: 'w', alg: 'ES256' };
  const signingKey = generateSigningKey('ES256', 'edge-1');
  const config = (issuer) => ({
    issuer,
    signing_keys: [signingKey],
    default_audiences: [API],
    clients: [
      { client_id: 'billing', client_secret_hash: hashClientSecret(fx.basicSecret), scope: 'orders:read' },
      { client_id: 'worker', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientJwk] }, scope: 'orders:read orders:write' },
    ],
    registration: { allowed_scope: 'orders:read', initial_access_token_hash: hashClientSecret(fx.initialAccessToken) },
  });
  workerd = await startWorkerd({
    worker: WORKER,
    bindings: (at) => [
      `(name = "CONFIG", json = ${JSON.stringify(JSON.stringify(config(at)))})`,
      `(name = "REPLAY", durableObjectNamespace = (className = "ReplayGuard"))`,
    ],
    workerFields: [
      `durableObjectNamespaces = [ (className = "ReplayGuard", uniqueKey = "gatepass-test-replay-guard") ]`,
      `durableObjectStorage = (inMemory = void)`,
    ],
  });
  origin = workerd.origin;
});

after(async () => {
  await workerd?.stop();
});

const form = (params, headers = {}) =>
  fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });

async function makeAssertion() {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'w', typ: 'client-authentication+jwt' })
    .setIssuer('worker')
    .setSubject('worker')
    .setAudience(origin)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .setJti(randomUUID())
    .sign(fx.clientKeys.privateKey);
}

test('workerd: metadata and JWKS', async () => {
  const metadata = await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json();
  assert.equal(metadata.issuer, origin);
  assert.equal(metadata.token_endpoint, `${origin}/oauth/token`);
  const jwks = await (await fetch(`${origin}/.well-known/jwks.json`)).json();
  assert.equal(jwks.keys[0].kid, 'edge-1');
  assert.equal((await fetch(`${origin}/nothing`)).status, 404);
  assert.equal((await fetch(`${origin}/.well-known/jwks.json`, { method: 'POST', body: 'x' })).status, 405);
});

test('workerd: client_secret_basic token, verified by jose and by verifyAccessToken in the Worker', async () => {
  const response = await form({ grant_type: 'client_credentials' }, { authorization: `Basic ${btoa(`billing:${fx.basicSecret}`)}` });
  assert.equal(response.status, 200, await response.clone().text());
  const { access_token: token } = await response.json();
  const jwks = jose.createRemoteJWKSet(new URL(`${origin}/.well-known/jwks.json`));
  const { payload } = await jose.jwtVerify(token, jwks, { issuer: origin, audience: API, typ: 'at+jwt' });
  assert.equal(payload.client_id, 'billing');

  const ok = await fetch(`${origin}/test/verify?scope=orders:read`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).sub, 'billing');
  const scope = await fetch(`${origin}/test/verify?scope=orders:write`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(scope.status, 403);
  assert.match(scope.headers.get('www-authenticate'), /insufficient_scope/);
});

test('workerd: private_key_jwt through the Durable Object replay store — accepted once', async () => {
  const assertion = await makeAssertion();
  const params = { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion };
  const first = await form(params);
  assert.equal(first.status, 200, `${await first.clone().text()}\n${workerd.log()}`);
  const replay = await form(params);
  assert.equal(replay.status, 401);
  assert.equal((await replay.json()).error, 'invalid_client');
});

test('workerd: the same assertion sent 8 times at once is accepted exactly once', async () => {
  const assertion = await makeAssertion();
  const params = { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion };
  const statuses = await Promise.all(Array.from({ length: 8 }, () => form(params).then((r) => r.status)));
  assert.deepEqual(statuses.sort(), [200, 401, 401, 401, 401, 401, 401, 401]);
});

test('workerd: registration (initial access token), token, RFC 7592 read and delete', async () => {
  const register = (authorization) =>
    fetch(`${origin}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ client_name: 'edge client' }),
    });
  assert.equal((await register()).status, 401);
  const created = await register(`Bearer ${fx.initialAccessToken}`);
  assert.equal(created.status, 201);
  const client = await created.json();
  const token = await form({ grant_type: 'client_credentials' }, { authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}` });
  assert.equal(token.status, 200);
  const read = await fetch(client.registration_client_uri, { headers: { authorization: `Bearer ${client.registration_access_token}` } });
  assert.equal(read.status, 200);
  assert.equal((await read.json()).client_name, 'edge client');
  const del = await fetch(client.registration_client_uri, { method: 'DELETE', headers: { authorization: `Bearer ${client.registration_access_token}` } });
  assert.equal(del.status, 204);
  const after = await form({ grant_type: 'client_credentials' }, { authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}` });
  assert.equal(after.status, 401);
});

test('workerd: RSA signing keys come from WebCrypto through generateSigningKeyAsync; the synchronous call says to use it', async () => {
  const out = await (await fetch(`${origin}/test/rsa-key`)).json();
  assert.equal(out.refused.code, 'invalid_request');
  assert.match(out.refused.message, /generateSigningKeyAsync\('RS256'\)/);
  assert.deepEqual(out.members, ['alg', 'd', 'dp', 'dq', 'e', 'kid', 'kty', 'n', 'p', 'q', 'qi', 'use']);
  const { protectedHeader, payload } = await jose.jwtVerify(out.token, jose.createLocalJWKSet(out.jwks), {
    issuer: 'https://edge.example',
    audience: API,
    typ: 'at+jwt',
  });
  assert.equal(protectedHeader.alg, 'PS256');
  assert.equal(payload.client_id, 'c');
  // 2048-bit modulus (RFC 7518 §3.3).
  assert.equal(Buffer.from(out.jwks.keys[0].n, 'base64url').length, 256);
});

test('workerd: a bad configuration throws GatepassError inside the Worker', async () => {
  const out = await (await fetch(`${origin}/test/config-error`)).json();
  assert.equal(out.isGatepassError, true);
  assert.equal(out.code, 'invalid_configuration');
  assert.match(out.message, /bogus/);
});

test('workerd: making a key at a Worker\'s top level (no randomness there) is refused with a clear error', async () => {
  await assert.rejects(
    startWorkerd({
      worker: `import { generateSigningKey } from 'gatepass';
const key = generateSigningKey('ES256');
export default { fetch() { return new Response(JSON.stringify(key)); } };`,
    }),
    (e) => /generateSigningKey: the runtime refuses randomness here/.test(e.message) && /inside a request/.test(e.message),
  );
});
