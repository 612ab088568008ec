// The Node fleet: two server processes (test-support/fleet-server.mjs) serving one
// AuthorizationServer configuration with RedisClientStore and RedisReplayStore on a real
// redis-server (test-support/redis-server.js: Debian's, installed by node-binding/test.sh)
// started here on loopback, with its own port and data directory, and stopped by PID.
//
// - a client registered on A gets tokens on B; an RFC 7592 update on A is read on B; RFC 7592
//   delete on B stops its tokens on A;
// - one assertion sent to A and B at once, 100 rounds: exactly one token per round;
// - Redis restarted during a run: 503 temporarily_unavailable while it is down, and an assertion
//   accepted before the restart is still refused after it;
// - the same stores on a 3-primary Redis Cluster through node-redis's createCluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { createCluster } from 'redis';
import {
  AuthorizationServer,
  RedisClientStore,
  RedisReplayStore,
  generateClientSecret,
  generateSigningKey,
  hashClientSecret,
} from 'gatepass';
import { ASSERTION_TYPE, ISSUER, API, assertion, basicAuth } from '../test-support/helpers.js';
import { RedisCluster, RedisServer } from '../test-support/redis-server.js';

const FLEET_SERVER = fileURLToPath(new URL('../test-support/fleet-server.mjs', import.meta.url));
const ROUNDS = 100;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One fleet server process; resolves its origin once it listens. */
function startServer(config, redisPort) {
  const proc = spawn(process.execPath, [FLEET_SERVER], {
    env: { ...process.env, GATEPASS_CONFIG: JSON.stringify(config), REDIS_URL: `redis://127.0.0.1:${redisPort}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening (\S+)/.exec(out);
      if (m) resolve({ proc, origin: m[1] });
    });
    proc.once('exit', (code) => reject(new Error(`fleet server exited with ${code}`)));
  });
}

let redis;
let servers;
let secrets;
let clientKeys;

before(async () => {
  redis = await (await RedisServer.create()).start();
  secrets = { initialAccessToken: generateClientSecret() };
  clientKeys = await jose.generateKeyPair('ES256', { extractable: true });
  const clientJwk = { ...(await jose.exportJWK(clientKeys.publicKey)), kid: 'worker-1', alg: 'ES256' };
  const config = {
    issuer: ISSUER,
    signing_keys: [generateSigningKey('ES256', 'fleet-1')],
    default_audiences: [API],
    clients: [{ client_id: 'worker', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientJwk] }, scope: 'orders:read' }],
    registration: {
      allowed_scope: 'orders:read',
      default_scope: 'orders:read',
      initial_access_token_hash: hashClientSecret(secrets.initialAccessToken),
    },
  };
  servers = await Promise.all([startServer(config, redis.port), startServer(config, redis.port)]);
});

after(async () => {
  for (const s of servers ?? []) s.proc.kill('SIGTERM');
  await redis?.destroy();
});

const post = (origin, path, body, headers = {}) =>
  fetch(origin + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

async function newAssertionBody() {
  const jwt = await assertion(clientKeys.privateKey, {
    clientId: 'worker',
    alg: 'ES256',
    kid: 'worker-1',
    now: Math.floor(Date.now() / 1000),
    lifetime: 300,
  });
  return new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }).toString();
}

/** What an answer says: `token`, `invalid_client` (401: a replay, or an unknown client), `unavailable` (503 with Retry-After), or the status. */
async function verdict(response) {
  const body = await response.json().catch(() => ({}));
  if (response.status === 200 && body.access_token) return 'token';
  if (response.status === 401 && body.error === 'invalid_client') return 'invalid_client';
  if (response.status === 503 && body.error === 'temporarily_unavailable' && response.headers.get('retry-after') === '1') {
    return 'unavailable';
  }
  return `${response.status} ${JSON.stringify(body)}`;
}

test('a client registered on A gets tokens on B, an RFC 7592 update on A is read on B, and delete on B stops its tokens on A', async () => {
  const [a, b] = servers;
  const reg = await fetch(`${a.origin}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.initialAccessToken}` },
    body: JSON.stringify({ token_endpoint_auth_method: 'client_secret_basic', client_name: 'fleet' }),
  });
  assert.equal(reg.status, 201);
  const client = await reg.json();
  const basic = { authorization: basicAuth(client.client_id, client.client_secret) };
  const form = 'grant_type=client_credentials';
  assert.equal(await verdict(await post(b.origin, '/oauth/token', form, basic)), 'token');
  assert.equal(await verdict(await post(a.origin, '/oauth/token', form, basic)), 'token');

  // RFC 7592 on B, at the path of the registration_client_uri A gave: an update on A is what B
  // reads, and a delete on B is what A sees.
  const path = new URL(client.registration_client_uri).pathname;
  const manage = { authorization: `Bearer ${client.registration_access_token}` };
  const update = await fetch(a.origin + path, {
    method: 'PUT',
    headers: { ...manage, 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: client.client_id, client_name: 'fleet v2', token_endpoint_auth_method: 'client_secret_basic' }),
  });
  assert.equal(update.status, 200);
  const read = await fetch(b.origin + path, { headers: manage });
  assert.equal(read.status, 200);
  const record = await read.json();
  assert.equal(record.client_id, client.client_id);
  assert.equal(record.client_name, 'fleet v2');
  const deleted = await fetch(b.origin + path, { method: 'DELETE', headers: { authorization: `Bearer ${client.registration_access_token}` } });
  assert.equal(deleted.status, 204);
  assert.equal(await verdict(await post(a.origin, '/oauth/token', form, basic)), 'invalid_client'); // unknown now
  assert.equal((await fetch(a.origin + path, { headers: { authorization: `Bearer ${client.registration_access_token}` } })).status, 401);
});

test(`one assertion sent to A and B at once is accepted exactly once (${ROUNDS} rounds)`, async () => {
  const [a, b] = servers;
  const tally = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    const body = await newAssertionBody();
    const answers = await Promise.all([post(a.origin, '/oauth/token', body), post(b.origin, '/oauth/token', body)]);
    const verdicts = (await Promise.all(answers.map(verdict))).sort();
    const key = verdicts.join('+');
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  console.log(`node fleet: ${ROUNDS} rounds by answers`, Object.fromEntries(tally));
  assert.deepEqual(Object.fromEntries(tally), { 'invalid_client+token': ROUNDS });
});

test('Redis restarted during a run: 503 while it is down, and no replay accepted after it is back', async () => {
  const [a, b] = servers;
  const used = await newAssertionBody();
  assert.equal(await verdict(await post(a.origin, '/oauth/token', used)), 'token');

  await redis.stop();
  const down = [];
  for (const s of [a, b]) {
    for (let i = 0; i < 3; i++) down.push(await verdict(await post(s.origin, '/oauth/token', await newAssertionBody())));
  }
  assert.deepEqual(down, Array(6).fill('unavailable'));

  await redis.start();
  // node-redis reconnects by itself: tokens are issued again within seconds on both servers.
  for (const s of [a, b]) {
    let v;
    for (let i = 0; i < 100; i++) {
      v = await verdict(await post(s.origin, '/oauth/token', await newAssertionBody()));
      if (v === 'token') break;
      await sleep(100);
    }
    assert.equal(v, 'token');
  }
  // The assertion accepted before the restart is still known, on either server.
  assert.equal(await verdict(await post(a.origin, '/oauth/token', used)), 'invalid_client');
  assert.equal(await verdict(await post(b.origin, '/oauth/token', used)), 'invalid_client');
});

test('on a Redis Cluster (createCluster): one assertion accepted once across two servers, and a client registered on one known to the other', async () => {
  const cluster = await RedisCluster.start(3);
  const client = await createCluster({ rootNodes: cluster.rootNodes, defaults: { disableOfflineQueue: true } }).connect();
  try {
    const clientJwk = { ...(await jose.exportJWK(clientKeys.publicKey)), kid: 'worker-1', alg: 'ES256' };
    const config = {
      issuer: ISSUER,
      signing_keys: [generateSigningKey('ES256', 'cluster-1')],
      default_audiences: [API],
      clients: [{ client_id: 'worker', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientJwk] }, scope: 'orders:read' }],
      registration: { allowed_scope: 'orders:read', initial_access_token_hash: hashClientSecret(secrets.initialAccessToken) },
    };
    const [a, b] = [0, 1].map(
      () => new AuthorizationServer({ config, clientStore: new RedisClientStore(client), replayStore: new RedisReplayStore(client) }),
    );
    const token = (server, body, headers = {}) =>
      server.handle(
        new Request(`${ISSUER}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body }),
      );
    // Keys spread over the cluster's slots: 20 assertions, each raced at both servers.
    const tally = new Map();
    for (let round = 0; round < 20; round++) {
      const body = await newAssertionBody();
      const verdicts = (await Promise.all([token(a, body), token(b, body)].map(async (r) => verdict(await r)))).sort().join('+');
      tally.set(verdicts, (tally.get(verdicts) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(tally), { 'invalid_client+token': 20 });
    const reg = await a.handle(
      new Request(`${ISSUER}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.initialAccessToken}` },
        body: JSON.stringify({ token_endpoint_auth_method: 'client_secret_basic' }),
      }),
    );
    assert.equal(reg.status, 201);
    const registered = await reg.json();
    const basic = { authorization: basicAuth(registered.client_id, registered.client_secret) };
    assert.equal(await verdict(await token(b, 'grant_type=client_credentials', basic)), 'token');
  } finally {
    await client.close();
    await cluster.destroy();
  }
});
