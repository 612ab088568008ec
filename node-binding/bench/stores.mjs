// Benchmark (not a test): what the fleet guarantee costs in Node. AuthorizationServer.handle for
// private_key_jwt token requests (an ES256 assertion checked, an ES256 access token minted) with
// the Redis stores (a real redis-server on loopback, append-only file synced on every write, as
// the package README says) against the in-memory stores, in alternating rounds in one process.
//   bash scripts/install-deb.sh redis-server redis-cli=redis-tools
//   node node-binding/bench/stores.mjs [seconds-per-round]     (IN_FLIGHT=n, default 16)
// Every request carries a distinct assertion (minted before the rounds); each must be answered
// with a token, or the run fails.
import * as jose from 'jose';
import { createClient } from 'redis';
import {
  AuthorizationServer,
  MemoryClientStore,
  MemoryReplayStore,
  RedisClientStore,
  RedisReplayStore,
  generateSigningKey,
} from 'gatepass';
import { RedisServer } from '../test-support/redis-server.js';

const SECONDS = Number(process.argv[2] ?? 3);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 16);
const ROUNDS = 6;
const ISSUER = 'https://as.example';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const keys = await jose.generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await jose.exportJWK(keys.publicKey)), kid: 'worker-1', alg: 'ES256' };
const config = {
  issuer: ISSUER,
  signing_keys: [generateSigningKey('ES256', 'bench')],
  default_audiences: ['https://api.example'],
  clients: [{ client_id: 'worker', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, scope: 'orders:read' }],
};

async function assertionBody() {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new jose.SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'worker-1', typ: 'client-authentication+jwt' })
    .setIssuer('worker')
    .setSubject('worker')
    .setAudience(ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .setJti(crypto.randomUUID())
    .sign(keys.privateKey);
  return new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }).toString();
}

/** Token requests through `server` for `ms`, IN_FLIGHT at a time, each with the next assertion. */
async function run(server, bodies, ms) {
  let n = 0;
  let bad = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() < end) {
      const body = bodies.pop();
      if (body === undefined) throw new Error('out of assertions: raise the pool');
      const response = await server.handle(
        new Request(`${ISSUER}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }),
      );
      if (response.status !== 200) bad++;
      await response.arrayBuffer();
      n++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  if (bad) throw new Error(`${bad} of ${n} token requests were not answered 200`);
  return [n, performance.now() - start];
}

const redisServer = await (await RedisServer.create()).start();
const redis = await createClient({ url: redisServer.url, disableOfflineQueue: true }).connect();
try {
  const servers = {
    memory: new AuthorizationServer({ config, clientStore: new MemoryClientStore(), replayStore: new MemoryReplayStore() }),
    redis: new AuthorizationServer({ config, clientStore: new RedisClientStore(redis), replayStore: new RedisReplayStore(redis) }),
  };
  // Enough assertions for the faster side at a generous rate.
  const started = performance.now();
  const bodies = [];
  const pool = Math.ceil(ROUNDS * 2 * SECONDS * 3000);
  for (let i = 0; i < pool; i++) bodies.push(await assertionBody());
  console.log(`minted ${pool.toLocaleString('en')} ES256 assertions in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await run(servers.memory, bodies, 500); // warm-up (JIT, WebCrypto keys)
  await run(servers.redis, bodies, 500);
  const total = { memory: [0, 0], redis: [0, 0] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 ? ['redis', 'memory'] : ['memory', 'redis']) {
      const [n, ms] = await run(servers[name], bodies, (SECONDS * 1000) / 2);
      total[name][0] += n;
      total[name][1] += ms;
    }
  }
  const rate = (name) => (total[name][0] / total[name][1]) * 1000;
  console.log(`private_key_jwt token requests, ${IN_FLIGHT} in flight, ${ROUNDS} alternating rounds (node ${process.version})`);
  console.log(`  memory stores: ${rate('memory').toFixed(0)} req/s`);
  console.log(`  Redis stores:  ${rate('redis').toFixed(0)} req/s`);
  console.log(`  Redis / memory = ${(rate('redis') / rate('memory')).toFixed(2)}x`);
} finally {
  await redis.quit();
  await redisServer.destroy();
}
