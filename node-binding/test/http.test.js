// HTTP behaviour of AuthorizationServer.handle: routing, methods, body limit, JWKS/metadata,
// configuration errors, and that no failure escapes as an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizationServer, GatepassError, MemoryReplayStore, generateSigningKey } from 'gatepass';
import {
  ASSERTION_TYPE,
  ISSUER,
  JWKS_URL,
  METADATA_URL,
  REGISTER_URL,
  TOKEN_URL,
  assertion,
  basicAuth,
  makeFixture,
  tokenRequest,
} from '../test-support/helpers.js';

test('unknown paths are 404', async () => {
  const fx = await makeFixture();
  for (const path of ['/', '/oauth/tokens', '/oauth/token/x', '/.well-known/openid-configuration', '/oauth/register/a/b']) {
    const response = await fx.server.handle(new Request(`${ISSUER}${path}`, { method: 'POST', body: 'x' }));
    assert.equal(response.status, 404, path);
  }
});

test('wrong methods are 405 with Allow', async () => {
  const fx = await makeFixture();
  const token = await fx.server.handle(new Request(TOKEN_URL));
  assert.equal(token.status, 405, 'token endpoint: POST only (answered by the core)');
  for (const [url, method, allow] of [
    [JWKS_URL, 'POST', 'GET, HEAD'],
    [METADATA_URL, 'DELETE', 'GET, HEAD'],
    [REGISTER_URL, 'GET', 'POST'],
    [`${REGISTER_URL}/abc`, 'PATCH', 'GET, PUT, DELETE'],
    [`${REGISTER_URL}/abc`, 'POST', 'GET, PUT, DELETE'],
  ]) {
    const response = await fx.server.handle(new Request(url, { method, body: method === 'GET' ? undefined : '{}' }));
    assert.equal(response.status, 405, `${method} ${url}`);
    assert.equal(response.headers.get('allow'), allow, `${method} ${url}`);
  }
});

test('JWKS and metadata: GET and HEAD (RFC 8414 §3)', async () => {
  const fx = await makeFixture();
  const jwks = await fx.server.handle(new Request(`${JWKS_URL}?x=1`));
  assert.equal(jwks.status, 200);
  assert.match(jwks.headers.get('cache-control'), /max-age=300/);
  const keys = (await jwks.json()).keys;
  assert.equal(keys.length, 1);
  assert.equal(keys[0].kid, 'as-2026');
  assert.equal(keys[0].d, undefined, 'no private member');

  const head = await fx.server.handle(new Request(JWKS_URL, { method: 'HEAD' }));
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');

  const metadata = await (await fx.server.handle(new Request(METADATA_URL))).json();
  assert.equal(metadata.issuer, ISSUER);
  assert.equal(metadata.token_endpoint, TOKEN_URL);
  assert.equal(metadata.jwks_uri, JWKS_URL);
  assert.equal(metadata.registration_endpoint, REGISTER_URL);
  assert.deepEqual(metadata, fx.server.metadata());
  assert.equal(fx.server.issuer, ISSUER);
});

test('bodies over max_body_bytes are 413 invalid_request, declared or streamed', async () => {
  const fx = await makeFixture({ maxBodyBytes: 1024 });
  const big = 'grant_type=client_credentials&x=' + 'a'.repeat(2000);
  const declared = await fx.server.handle(
    new Request(TOKEN_URL, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: big }),
  );
  assert.equal(declared.status, 413);
  assert.equal((await declared.json()).error, 'invalid_request');

  // No Content-Length: a stream of chunks, stopped once over the limit.
  let pulled = 0;
  const stream = new ReadableStream({
    pull(controller) {
      pulled++;
      if (pulled > 100) controller.close();
      else controller.enqueue(new Uint8Array(256).fill(97));
    },
  });
  const streamed = await fx.server.handle(
    new Request(REGISTER_URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' }),
  );
  assert.equal(streamed.status, 413);
  assert.equal((await streamed.json()).error, 'invalid_request');
  assert.ok(pulled < 100, `stopped reading early (${pulled} chunks)`);

  // A Content-Length within the limit is read in one go (the runtime's framing holds it to that
  // length); a body that is longer all the same is still refused.
  const lying = await fx.server.handle(
    new Request(TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '29' },
      body: big,
    }),
  );
  assert.equal(lying.status, 413);
  const honest = await fx.server.handle(
    new Request(TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '29', authorization: basicAuth('billing', fx.secrets.basic) },
      body: 'grant_type=client_credentials',
    }),
  );
  assert.equal(honest.status, 200);

  // At the limit is fine.
  const atLimit = await fx.server.handle(
    new Request(REGISTER_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fx.secrets.initialAccessToken}` },
      body: JSON.stringify({ client_name: 'a'.repeat(900) }),
    }),
  );
  assert.equal(atLimit.status, 201);
});

test('the default body limit is 64 KiB', async () => {
  const fx = await makeFixture();
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', pad: 'a'.repeat(64 * 1024) }, { authorization: basicAuth('billing', fx.secrets.basic) }),
  );
  assert.equal(response.status, 413);
});

test('a client store that throws becomes 503 temporarily_unavailable, not an exception', async () => {
  const failing = {
    get: async () => {
      throw new Error('KV down');
    },
    put: async () => {
      throw new Error('KV down');
    },
    delete: async () => {
      throw new Error('KV down');
    },
  };
  const fx = await makeFixture({ clientStore: failing });
  const token = await fx.server.handle(tokenRequest({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }));
  assert.equal(token.status, 503);
  assert.deepEqual(await token.json(), { error: 'temporarily_unavailable', error_description: 'a store did not answer; retry later' });
  assert.equal(token.headers.get('cache-control'), 'no-store');
  assert.equal(token.headers.get('retry-after'), '1');

  const reg = await fx.server.handle(
    new Request(REGISTER_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fx.secrets.initialAccessToken}` },
      body: '{}',
    }),
  );
  assert.equal(reg.status, 503);
  assert.equal((await reg.json()).error, 'temporarily_unavailable');

  const read = await fx.server.handle(new Request(`${REGISTER_URL}/abc`, { headers: { authorization: 'Bearer t' } }));
  assert.equal(read.status, 503);
  assert.equal(fx.errors.length, 3);
  assert.equal(fx.errors[0].message, 'clientStore.get failed: KV down');
  assert.equal(fx.errors[0].cause.message, 'KV down');
  assert.equal(fx.server.counters.storeErrors, 3);

  // Configured clients need no store round trip.
  const configured = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth('billing', fx.secrets.basic) }),
  );
  assert.equal(configured.status, 200);
});

test('a replay store that throws refuses with 503 temporarily_unavailable: retry with a new assertion', async () => {
  const fx = await makeFixture({
    replayStore: {
      insertIfAbsent: async () => {
        throw new Error('Durable Object unavailable');
      },
    },
  });
  const jwt = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1' });
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }),
  );
  assert.equal(response.status, 503);
  assert.deepEqual(await response.json(), {
    error: 'temporarily_unavailable',
    error_description: 'the replay store did not answer; retry later with a new client assertion',
  });
  assert.equal(response.headers.get('retry-after'), '1');
  assert.equal(fx.errors.length, 1);
  assert.equal(fx.errors[0].code, 'temporarily_unavailable');
});

test('a store answering the wrong type, a throwing logger or a non-Request are 500 too', async () => {
  const fx = await makeFixture({ clientStore: { get: async () => 42, put: async () => {}, delete: async () => {} } });
  const response = await fx.server.handle(tokenRequest({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }));
  assert.equal(response.status, 500);

  const server = new AuthorizationServer({
    config: fx.config,
    onError: () => {
      throw new Error('logger down');
    },
  });
  assert.equal((await server.handle({})).status, 500);
  assert.equal((await server.handle(undefined)).status, 500);
});

test('a malformed token request is answered by the core (RFC 6749 §3.2, §5.2)', async () => {
  const fx = await makeFixture();
  const duplicate = await fx.server.handle(
    new Request(TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth('billing', fx.secrets.basic) },
      body: 'grant_type=client_credentials&grant_type=client_credentials',
    }),
  );
  assert.equal(duplicate.status, 400);
  assert.equal((await duplicate.json()).error, 'invalid_request');
  const json = await fx.server.handle(
    new Request(TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth('billing', fx.secrets.basic) },
      body: '{"grant_type":"client_credentials"}',
    }),
  );
  assert.equal(json.status, 400);
  assert.equal((await json.json()).error, 'invalid_request');
});

test('a bad configuration throws GatepassError invalid_configuration naming the field', () => {
  const key = generateSigningKey('EdDSA', 'k');
  const cases = [
    [{ issuer: ISSUER, signing_keys: [key], isuer: 'x' }, /isuer/],
    [{ issuer: 'http://as.example', signing_keys: [key] }, /issuer/],
    [{ issuer: ISSUER, signing_keys: [] }, /signing_keys/],
    [{ issuer: ISSUER, signing_keys: [{ ...key, d: undefined }] }, /signing_keys/],
    [{ issuer: ISSUER, signing_keys: [key], clients: [{ client_id: 'a', client_secret_hash: 'plain' }] }, /clients\[0\]/],
    [{ issuer: ISSUER, signing_keys: [key], active_kid: 'nope' }, /active_kid/],
    [{ issuer: ISSUER, signing_keys: [key], token_ttl: '2d' }, /token_ttl/],
  ];
  for (const [config, field] of cases) {
    assert.throws(
      () => new AuthorizationServer({ config }),
      (e) => e instanceof GatepassError && e instanceof Error && e.code === 'invalid_configuration' && field.test(e.message),
      JSON.stringify(config),
    );
  }
  assert.throws(() => new AuthorizationServer({}), (e) => e.code === 'invalid_configuration' && /config/.test(e.message));
  assert.throws(() => new AuthorizationServer({ config: '{not json' }), (e) => e.code === 'invalid_configuration');
  assert.throws(
    () => new AuthorizationServer({ config: { issuer: ISSUER, signing_keys: [key] }, clientStore: {} }),
    (e) => e.code === 'invalid_configuration' && /clientStore/.test(e.message),
  );
  assert.throws(
    () => new AuthorizationServer({ config: { issuer: ISSUER, signing_keys: [key], max_body_bytes: -1 } }),
    (e) => e.code === 'invalid_configuration' && /max_body_bytes/.test(e.message),
  );
  assert.throws(
    () => new AuthorizationServer({ config: { issuer: ISSUER, signing_keys: [key], max_body_bytes: 2 * 1024 * 1024 } }),
    (e) => e.code === 'invalid_configuration' && /max_body_bytes/.test(e.message),
  );
  // The body limit has one home, the configuration: the option of earlier versions is refused.
  assert.throws(
    () => new AuthorizationServer({ config: { issuer: ISSUER, signing_keys: [key] }, maxBodyBytes: 1024 }),
    (e) => e.code === 'invalid_configuration' && /max_body_bytes/.test(e.message),
  );
  // JSON text works as well as an object.
  assert.equal(new AuthorizationServer({ config: JSON.stringify({ issuer: ISSUER, signing_keys: [key] }) }).issuer, ISSUER);
});

test('key rotation: every key is published, the active_kid signs', async () => {
  const old = generateSigningKey('EdDSA', 'old');
  const next = generateSigningKey('ES256', 'next');
  const fx = await makeFixture({ configOverrides: { signing_keys: [old, next], active_kid: 'next' } });
  assert.deepEqual(fx.server.jwks().keys.map((k) => k.kid), ['old', 'next']);
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth('billing', fx.secrets.basic) }),
  );
  const { access_token } = await response.json();
  const header = JSON.parse(Buffer.from(access_token.split('.')[0], 'base64url'));
  assert.equal(header.kid, 'next');
  assert.equal(header.alg, 'ES256');
  assert.equal(header.typ, 'at+jwt');
});

test('MemoryReplayStore: present until expiresAt, then absent again', async () => {
  let now = 1000;
  const store = new MemoryReplayStore({ now: () => now });
  assert.equal(await store.insertIfAbsent('k', 1100), true);
  assert.equal(await store.insertIfAbsent('k', 1100), false);
  now = 1100;
  assert.equal(await store.insertIfAbsent('k', 1100), false, 'inclusive');
  now = 1101;
  assert.equal(await store.insertIfAbsent('k', 1200), true);
  // Concurrent inserts of one key: exactly one wins.
  const results = await Promise.all(Array.from({ length: 10 }, () => store.insertIfAbsent('race', 2000)));
  assert.equal(results.filter(Boolean).length, 1);
  // Expired keys are swept as the map grows.
  for (let i = 0; i < 2000; i++) await store.insertIfAbsent(`x${i}`, 1101);
  now = 5000;
  for (let i = 0; i < 2000; i++) await store.insertIfAbsent(`y${i}`, 6000);
  assert.ok(store.size < 3000, `swept (${store.size})`);
});

test('host values that are not ASCII or not UTF-8 get the core\'s answer, never an exception', async () => {
  // Fetch-API header values are ByteStrings: a Latin-1 byte arrives as a U+0080..U+00FF char.
  const fx = await makeFixture();
  const errors = [];
  const cases = [
    ['Authorization with a Latin-1 byte', { authorization: 'Basic Y2Fm\u00e9', 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials'],
    ['Authorization with a tab', { authorization: 'Basic\tYTpi', 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials'],
    ['Content-Type with a Latin-1 byte', { 'content-type': 'application/x-www-form-urlencoded\u00ff' }, 'grant_type=client_credentials'],
    ['a form body that is not UTF-8', { 'content-type': 'application/x-www-form-urlencoded' }, new Uint8Array([...new TextEncoder().encode('grant_type=client_credentials&client_id=a&client_secret='), 0xff, 0xfe])],
  ];
  for (const [name, headers, body] of cases) {
    const response = await fx.server.handle(new Request(TOKEN_URL, { method: 'POST', headers: { 'user-agent': 'caf\u00e9', ...headers }, body }));
    assert.equal(response.status, 400, name);
    assert.equal((await response.json()).error, 'invalid_request', name);
  }
  // A Latin-1 byte in a header the server does not read changes nothing.
  const ok = await fx.server.handle(new Request(JWKS_URL, { headers: { 'user-agent': 'caf\u00e9 \u00ff' } }));
  assert.equal(ok.status, 200);
  // A registration body that is not UTF-8 is refused as metadata, not thrown.
  const reg = await fx.server.handle(new Request(REGISTER_URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0xff, 0x7d]) }));
  assert.ok([400, 401].includes(reg.status), `registration: ${reg.status}`);
  assert.deepEqual(errors, []);
});
