// What the scenarios of ./hardening.js must show, in any runtime: one assertion function per
// scenario, over the plain data the scenario returned (in Node directly, from workerd as JSON).
import assert from 'node:assert/strict';
import { STORE_TIMEOUT_MS } from './hardening.js';

const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };

export const expect = {
  // Item 2 (RFC 7592 §2): the decoded segment is checked against the client id rule first.
  impossibleClientIdPaths(d) {
    for (const [name, byMethod] of Object.entries(d.impossible)) {
      assert.deepEqual(byMethod, { GET: 404, PUT: 404, DELETE: 404 }, name);
    }
    assert.deepEqual(d.callsForImpossible, [], 'no store call for an impossible id');
    // Possible ids are looked up and, unknown, answered 401 invalid_token (RFC 7592 §2.1) —
    // all three the same answer.
    const unknown = d.possible.nosuchclient;
    assert.equal(unknown.status, 401);
    assert.equal(JSON.parse(unknown.body).error, 'invalid_token');
    assert.deepEqual(d.possible['255 characters'], unknown);
    assert.deepEqual(d.possible['%2F..'], unknown);
    assert.deepEqual(d.idsForPossible, [
      { method: 'get', idLength: 255 },
      { method: 'get', idLength: 3 },
      { method: 'get', idLength: 12 },
    ]);
  },

  // Item 2 (RFC 6749 §5.2): a 600-byte client id is an unknown client, without a store call.
  longClientIdAtTokenEndpoint(d) {
    for (const method of ['basic', 'post']) {
      const long = d[`${method} long`];
      const unknown = d[`${method} unknown`];
      assert.equal(unknown.answer.status, 401, method);
      assert.deepEqual(JSON.parse(unknown.answer.body), INVALID_CLIENT, method);
      assert.deepEqual(long.answer, unknown.answer, `${method}: same status, body and WWW-Authenticate as an unknown client`);
      assert.deepEqual(unknown.storeCalls, [{ method: 'get', idLength: 12 }], `${method}: the unknown client is looked up`);
      assert.deepEqual(long.storeCalls, [], `${method}: the 600-byte id never reaches clientStore.get`);
    }
  },

  // Item 3: a record carries its issuer; another issuer treats it as unknown everywhere.
  sharedStoreAcrossIssuers(d) {
    assert.equal(d.registered, 201);
    assert.equal(d.tokenAtA, 200);
    assert.equal(d.tokenAtB.status, 401);
    assert.deepEqual(JSON.parse(d.tokenAtB.body), INVALID_CLIENT);
    assert.deepEqual(d.tokenAtB, d.unknownTokenAtB, 'token endpoint: same answer as an unknown client');
    assert.equal(d.unknownReadAtB.status, 401);
    for (const name of ['readAtB', 'updateAtB', 'deleteAtB']) {
      assert.deepEqual(d[name], d.unknownReadAtB, `RFC 7592 ${name}: same answer as an unknown client`);
    }
    assert.equal(d.recordUnchanged, true, 'B neither updated nor deleted the record');
    assert.equal(d.tokenAtAAfter, 200);
  },

  // Item 3: scopes cut to today's allowed_scope, audiences to today's default_audiences.
  narrowedPolicy(d) {
    assert.equal(d.registered, 201);
    assert.deepEqual(d.wide, { status: 200, scope: 'orders:read orders:write reports:read', aud: ['https://api.example', 'https://api-2.example'] });
    assert.deepEqual(d.narrow, { status: 200, scope: 'orders:read reports:read', aud: 'https://api-2.example' });
    assert.deepEqual(d.narrowAskingForRemovedScope, { status: 400, error: 'invalid_scope' });
    assert.deepEqual(d.narrowAskingForRemovedAudience, { status: 400, error: 'invalid_target' });
    assert.deepEqual(d.narrowRead, { status: 200, scope: 'orders:read reports:read' });
    assert.deepEqual(d.wideAgain, d.wide, 'the stored record itself is untouched');
    assert.deepEqual(d.noAudienceLeft, { status: 401, error: 'invalid_client' });
  },

  // Item 3: `enabled: false` keeps serving registered clients; no section, no stored clients.
  registrationOffOrAbsent(d) {
    assert.deepEqual(d.disabled, { token: 200, register: 404, read: 404, registrationEndpoint: null });
    assert.equal(d.absent.token.status, 401);
    assert.deepEqual(d.absent.token, d.absent.unknownToken, 'same answer as an unknown client');
    assert.equal(d.storeSize, 1);
  },

  // Item 4: open registration only when the configuration says so.
  openRegistrationIsExplicit(d) {
    for (const name of ['neither', 'both']) {
      assert.equal(d[name]?.isGatepassError, true, name);
      assert.equal(d[name].code, 'invalid_configuration', name);
      assert.match(d[name].message, /^registration\.open_registration: /, name);
    }
    assert.equal(d.tokenOnly, null);
    assert.equal(d.flagOnly, null);
    assert.equal(d.openRegisters, 201);
    assert.equal(d.openStoreSize, 1);
  },

  // Item 4 (RFC 7591 §3.2.2): each cap refused as invalid_client_metadata naming the field,
  // nothing stored; the value at the cap is accepted.
  registrationCaps(d) {
    const over = {
      'client_name of 65,000 characters': 'client_name',
      '17 contacts': 'contacts',
      '11 keys in jwks': 'jwks',
      '300 scope tokens': 'scope',
      '65 members': 'request body',
    };
    for (const [name, field] of Object.entries(over)) {
      assert.equal(d[name].status, 400, name);
      assert.equal(d[name].error, 'invalid_client_metadata', name);
      assert.ok(d[name].description.startsWith(`${field}: `), `${name}: ${d[name].description}`);
      assert.equal(d[name].stored, 0, `${name}: nothing stored`);
    }
    for (const name of ['client_name of 1024 characters', '16 contacts', '10 keys in jwks', '256 scope tokens', '64 members']) {
      assert.deepEqual(d[name], { status: 201, error: null, description: null, stored: 1 }, name);
    }
  },

  // Item 5: failures of onError are swallowed and counted.
  errorCallbackFailures(d) {
    // The client store throws: 503 temporarily_unavailable (a store that did not answer).
    assert.deepEqual(d.statuses, [503, 503, 503, 503]);
    assert.equal(d.onErrorCalls, 4);
    assert.deepEqual(d.counters, { errorCallbackFailures: 3, storeTimeouts: 0, storeErrors: 4 });
  },

  // Item 5: a store call that never settles fails closed after storeTimeoutMs: 503
  // temporarily_unavailable with Retry-After (issue 14: a store that is down is told apart from
  // a bug); the replay store's with the core's own description (retry with a new assertion).
  hungStores(d, { exchanges = true } = {}) {
    const methods = [];
    for (const [name, { answer, elapsedMs }] of Object.entries(d.cases)) {
      assert.notEqual(answer, 'hung', name);
      assert.equal(answer.status, 503, name);
      const description = name.startsWith('replayStore')
        ? 'the replay store did not answer; retry later with a new client assertion'
        : 'a store did not answer; retry later';
      assert.deepEqual(JSON.parse(answer.body), { error: 'temporarily_unavailable', error_description: description }, name);
      assert.equal(answer.retryAfter, '1', name);
      assert.ok(elapsedMs >= STORE_TIMEOUT_MS - 5, `${name}: answered after ${elapsedMs} ms, before the timeout`);
      methods.push(name.split(' ')[0]);
    }
    assert.deepEqual(
      d.errors,
      methods.map((m) => ({ name: 'GatepassError', code: 'temporarily_unavailable', message: `${m} did not settle within ${STORE_TIMEOUT_MS} ms (storeTimeoutMs)` })),
    );
    assert.deepEqual(d.counters, { errorCallbackFailures: 0, storeTimeouts: methods.length, storeErrors: 0 });
    if (exchanges) assert.deepEqual(d.exchanges, { begun: 2, freed: 2 }, 'every TokenExchange freed');
  },

  storeTimersCleared(d) {
    assert.deepEqual(d, { registered: 201, token: 200, counters: { errorCallbackFailures: 0, storeTimeouts: 0, storeErrors: 0 } });
  },

  // Item 6: the provider is read on every call.
  mutatedProvider(d) {
    assert.deepEqual(d.first, { ok: true, sub: 'billing' });
    assert.deepEqual(d.afterChange, { ok: false, code: 'invalid_token', status: 401 });
    assert.deepEqual(d.changedBack, { ok: true, sub: 'billing' });
  },
};
