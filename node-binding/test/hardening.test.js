// Issue 11, items 2–6, in Node: the scenarios of ../test-support/hardening.js (the same ones
// ./workerd-hardening.test.js runs in workerd), plus what only a Node process can show: an
// onError rejection under --unhandled-rejections=strict, store timers that would keep the
// process alive, and the TokenExchange objects a hung request held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as gp from 'gatepass';
import * as glue from '../dist/wasm/gatepass_node.js';
import { scenarios } from '../test-support/hardening.js';
import { expect } from '../test-support/hardening-expect.js';
import { PACKAGE_DIR } from '../test-support/packed.js';

const { AuthorizationServer, GatepassError, generateSigningKey } = gp;

test('item 2: an RFC 7592 path segment no client can have is 404 before any store call', async () => {
  expect.impossibleClientIdPaths(await scenarios.impossibleClientIdPaths(gp));
});

test('item 2: a 600-byte client_id never reaches clientStore.get and is answered as an unknown client', async () => {
  expect.longClientIdAtTokenEndpoint(await scenarios.longClientIdAtTokenEndpoint(gp));
});

test('item 3: a record written by issuer A is an unknown client to issuer B sharing the store', async () => {
  expect.sharedStoreAcrossIssuers(await scenarios.sharedStoreAcrossIssuers(gp));
});

test('item 3: narrowing allowed_scope and default_audiences narrows existing registered clients', async () => {
  expect.narrowedPolicy(await scenarios.narrowedPolicy(gp));
});

test('item 3: registration.enabled false keeps registered clients; without the section they are refused', async () => {
  expect.registrationOffOrAbsent(await scenarios.registrationOffOrAbsent(gp));
});

test('item 4: registration needs initial_access_token_hash or open_registration: true, not both', async () => {
  expect.openRegistrationIsExplicit(await scenarios.openRegistrationIsExplicit(gp));
});

test('item 4: registration over a cap is 400 invalid_client_metadata naming the field, nothing stored', async () => {
  expect.registrationCaps(await scenarios.registrationCaps(gp));
});

test('item 5: onError that rejects or throws is counted; the process survives --unhandled-rejections=strict', async () => {
  // A child process, so that an unhandled rejection ends it (and not this test runner). The
  // same run checks that timers of a 10-minute storeTimeoutMs are cleared: if one were left,
  // the child would not exit and the timeout below would kill it.
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--unhandled-rejections=strict', join(PACKAGE_DIR, 'test-support', 'run-scenario.mjs'), 'errorCallbackFailures', 'storeTimersCleared'],
    { cwd: PACKAGE_DIR, timeout: 30_000 },
  );
  assert.equal(stderr, '');
  const out = JSON.parse(stdout);
  expect.errorCallbackFailures(out.errorCallbackFailures);
  expect.storeTimersCleared(out.storeTimersCleared);
});

test('item 5: a store call that never settles answers 503 after storeTimeoutMs and frees the TokenExchange', async () => {
  expect.hungStores(await scenarios.hungStores(gp, { glue }));
});

test('item 5: storeTimeoutMs must be a positive integer of milliseconds', () => {
  const config = { issuer: 'https://as.example', signing_keys: [generateSigningKey('EdDSA')] };
  for (const storeTimeoutMs of [0, -1, 1.5, '100', null, Number.NaN, Infinity, 2 ** 31]) {
    assert.throws(
      () => new AuthorizationServer({ config, storeTimeoutMs }),
      (e) => e instanceof GatepassError && e.code === 'invalid_configuration' && e.message.startsWith('storeTimeoutMs: '),
      String(storeTimeoutMs),
    );
  }
  for (const storeTimeoutMs of [undefined, 1, 2 ** 31 - 1]) new AuthorizationServer({ config, storeTimeoutMs }).free();
});

test('item 5: server.counters is a read-only snapshot', async () => {
  // Every request fails (the clock throws inside handle) and so does the logger.
  const server = new AuthorizationServer({
    config: { issuer: 'https://as.example', signing_keys: [generateSigningKey('EdDSA')] },
    now: () => {
      throw new Error('clock down');
    },
    onError: () => {
      throw new Error('logger down');
    },
  });
  const before = server.counters;
  assert.deepEqual(before, { errorCallbackFailures: 0, storeTimeouts: 0, storeErrors: 0 });
  assert.throws(() => {
    before.storeTimeouts = 7;
  }, TypeError);
  assert.throws(() => {
    server.counters = {};
  }, TypeError);
  const response = await server.handle(new Request('https://as.example/oauth/token', { method: 'POST', body: 'grant_type=client_credentials' }));
  assert.equal(response.status, 500);
  assert.deepEqual(server.counters, { errorCallbackFailures: 1, storeTimeouts: 0, storeErrors: 0 });
  assert.deepEqual(before, { errorCallbackFailures: 0, storeTimeouts: 0, storeErrors: 0 }, 'a snapshot does not move');
});

test('item 6: changing provider.audiences after use is seen by verifyAccessToken', async () => {
  expect.mutatedProvider(await scenarios.mutatedProvider(gp));
});
