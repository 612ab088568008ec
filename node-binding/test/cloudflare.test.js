// The Cloudflare stores against small in-process stand-ins for KV and Durable Objects (the real
// runtime is exercised by the workerd test), plus the package's entry points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DurableObjectReplayStore, KVClientStore, ReplayGuard } from 'gatepass';
import { ASSERTION_TYPE, assertion, makeFixture, register, tokenRequest, basicAuth } from '../test-support/helpers.js';

class FakeKV {
  map = new Map();
  async get(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  async put(key, value) {
    this.map.set(key, value);
  }
  async delete(key) {
    this.map.delete(key);
  }
}

/** Durable Object storage: the calls ReplayGuard makes, over a Map. */
class FakeStorage {
  map = new Map();
  alarm = null;
  async get(key) {
    return this.map.get(key);
  }
  async put(key, value) {
    this.map.set(key, value);
  }
  async delete(keys) {
    for (const k of [].concat(keys)) this.map.delete(k);
  }
  async list({ prefix }) {
    return new Map([...this.map].filter(([k]) => k.startsWith(prefix)).sort());
  }
  async getAlarm() {
    return this.alarm;
  }
  async setAlarm(at) {
    this.alarm = at;
  }
}

/** A namespace: one ReplayGuard per name, events delivered one at a time (as input gates do). */
class FakeNamespace {
  objects = new Map();
  idFromName(name) {
    return { name };
  }
  get(id) {
    let entry = this.objects.get(id.name);
    if (!entry) {
      entry = { guard: new ReplayGuard({ storage: new FakeStorage() }, {}), queue: Promise.resolve() };
      this.objects.set(id.name, entry);
    }
    return {
      fetch: (url, init) => {
        const run = entry.queue.then(() => entry.guard.fetch(new Request(url, init)));
        entry.queue = run.catch(() => {});
        return run;
      },
    };
  }
}

test('KVClientStore: prefix, undefined for unknown, registration round trip', async () => {
  const kv = new FakeKV();
  const fx = await makeFixture({ clientStore: new KVClientStore(kv) });
  const { response, body } = await register(fx, { scope: 'orders:read' });
  assert.equal(response.status, 201);
  assert.deepEqual([...kv.map.keys()], [`gatepass:client:${body.client_id}`]);
  const token = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuth(body.client_id, body.client_secret) }),
  );
  assert.equal(token.status, 200);
  assert.equal(await new KVClientStore(kv).get('nobody'), undefined);
  const custom = new KVClientStore(kv, { prefix: 'c/' });
  await custom.put('a', '{}');
  assert.equal(await custom.get('a'), '{}');
  await custom.delete('a');
  assert.equal(kv.map.has('c/a'), false);
  assert.throws(() => new KVClientStore(undefined), TypeError);
});

test('DurableObjectReplayStore + ReplayGuard: accepted once, concurrent inserts of one key, sharding', async () => {
  const namespace = new FakeNamespace();
  const store = new DurableObjectReplayStore(namespace, { shards: 4 });
  const far = Math.floor(Date.now() / 1000) + 600;
  assert.equal(await store.insertIfAbsent('key-1', far), true);
  assert.equal(await store.insertIfAbsent('key-1', far), false);
  const results = await Promise.all(Array.from({ length: 8 }, () => store.insertIfAbsent('key-2', far)));
  assert.equal(results.filter(Boolean).length, 1);
  for (let i = 0; i < 40; i++) await store.insertIfAbsent(`k${i}`, far);
  assert.ok(namespace.objects.size > 1 && namespace.objects.size <= 4, `${namespace.objects.size} shards used`);
  assert.throws(() => new DurableObjectReplayStore({}), TypeError);
  assert.throws(() => new DurableObjectReplayStore(namespace, { shards: 0 }), TypeError);
});

test('ReplayGuard: expired keys count as absent; the alarm deletes them and re-arms', async () => {
  const storage = new FakeStorage();
  const guard = new ReplayGuard({ storage }, {});
  const now = Math.floor(Date.now() / 1000);
  assert.equal(await guard.insertIfAbsent('old', now - 10), true, 'already expired: inserted');
  assert.equal(await guard.insertIfAbsent('old', now - 10), true, 'still expired: counts as absent');
  assert.equal(await guard.insertIfAbsent('live', now + 100), true);
  assert.equal(storage.alarm, (now - 10 + 1) * 1000, 'alarm at the earliest expiry');
  await guard.alarm();
  assert.deepEqual([...storage.map.keys()], ['k:live']);
  assert.equal(storage.alarm, (now + 100 + 1) * 1000);
  // Bad requests to the object.
  assert.equal((await guard.fetch(new Request('https://x/insert', { method: 'POST', body: '{"key": 1}' }))).status, 400);
  assert.equal((await guard.fetch(new Request('https://x/insert', { method: 'POST', body: 'nope' }))).status, 400);
  assert.equal((await guard.fetch(new Request('https://x/insert'))).status, 405);
  assert.equal((await guard.fetch(new Request('https://x/other'))).status, 404);
});

test('the token endpoint with the Durable Object replay store refuses a replayed assertion', async () => {
  const fx = await makeFixture({ realClock: true, replayStore: new DurableObjectReplayStore(new FakeNamespace()) });
  const jwt = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1', now: Math.floor(Date.now() / 1000) });
  const params = { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt };
  assert.equal((await fx.server.handle(tokenRequest(params))).status, 200);
  assert.equal((await fx.server.handle(tokenRequest(params))).status, 401);
});

test('entry points: import and require resolve to the node entries; published files exist', async () => {
  assert.match(import.meta.resolve('gatepass'), /\/js\/node\.js$/);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const exp = pkg.exports['.'];
  const targets = [
    exp.workerd.default,
    exp.deno.default,
    exp.node.import.default,
    exp.node.require.default,
    exp.node.require.types,
    exp.browser.default,
    exp.default,
    exp.types,
  ];
  for (const t of targets) assert.ok(readFileSync(new URL(`../${t}`, import.meta.url)).length > 0, t);
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), [], 'no runtime dependencies');
});
