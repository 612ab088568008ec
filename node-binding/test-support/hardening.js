// Scenarios of issue 11 (items 2–6) that run unchanged in Node and in workerd. Each takes the
// package's exports (`gp`) and returns plain data — statuses, bodies, store calls, counters —
// which ./hardening-expect.js asserts for both runtimes (../test/hardening.test.js,
// ../test/workerd-hardening.test.js). Only fetch-API globals here: no `node:` imports, no
// `jose` (the one assertion is made with WebCrypto), so the module embeds as is in a Worker.

export const ISSUER = 'https://as.example';
export const OTHER_ISSUER = 'https://other-as.example';
export const API = 'https://api.example';
export const API_2 = 'https://api-2.example';
export const API_3 = 'https://api-3.example';
/** A fixed clock (2027-01-15). */
export const NOW = 1_800_000_000;
/** The store timeout of the hung-store scenario, in milliseconds. */
export const STORE_TIMEOUT_MS = 100;
/** How long a scenario waits for an answer before calling the request hung. */
const HUNG_AFTER_MS = 3_000;

const encoder = new TextEncoder();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a client sees of a response. */
async function seen(response) {
  return {
    status: response.status,
    body: await response.text(),
    wwwAuthenticate: response.headers.get('www-authenticate'),
    retryAfter: response.headers.get('retry-after'),
  };
}

/** `seen(await server.handle(request))`, or `'hung'` when no answer comes in HUNG_AFTER_MS. */
async function answerOrHung(server, request) {
  let timer;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => resolve('hung'), HUNG_AFTER_MS);
  });
  try {
    return await Promise.race([server.handle(request).then(seen), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before base64. */
function basic(clientId, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${btoa(`${enc(clientId)}:${enc(secret)}`)}`;
}

function tokenRequest(issuer, params, headers = {}) {
  return new Request(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

function registerRequest(issuer, metadata, initialAccessToken) {
  return new Request(`${issuer}/oauth/register`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(initialAccessToken ? { authorization: `Bearer ${initialAccessToken}` } : {}),
    },
    body: JSON.stringify(metadata),
  });
}

/** An RFC 7592 request to `{issuer}/oauth/register/{segment}` (segment as written in the URL). */
function manageRequest(issuer, segment, method, token, body) {
  return new Request(`${issuer}/oauth/register/${segment}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
}

function base64Url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The claims of a compact JWS (already verified elsewhere; here only read). */
function claimsOf(token) {
  return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
}

/** A client_secret_jwt assertion (RFC 7523 §3, HS256) made with WebCrypto. */
async function hs256Assertion(secret, clientId, audience, now) {
  const part = (value) => base64Url(encoder.encode(JSON.stringify(value)));
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
    iss: clientId,
    sub: clientId,
    aud: audience,
    iat: now,
    exp: now + 120,
    jti: crypto.randomUUID(),
  })}`;
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(input)));
  return `${input}.${base64Url(signature)}`;
}

/** A public ES256 JWK made with WebCrypto. */
async function publicEcJwk() {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { kty, crv, x, y, alg: 'ES256' };
}

/** A client store over a MemoryClientStore that records every call (method, id length). */
function recordingStore(gp) {
  const inner = new gp.MemoryClientStore();
  const calls = [];
  return {
    calls,
    get: (id) => (calls.push({ method: 'get', idLength: id.length }), inner.get(id)),
    put: (id, record) => (calls.push({ method: 'put', idLength: id.length }), inner.put(id, record)),
    delete: (id) => (calls.push({ method: 'delete', idLength: id.length }), inner.delete(id)),
    get size() {
      return inner.size;
    },
  };
}

/** A configuration with one configured client and the given overrides. */
function config(gp, overrides = {}) {
  return {
    issuer: ISSUER,
    signing_keys: [gp.generateSigningKey('ES256', 'as-1')],
    default_audiences: [API],
    ...overrides,
  };
}

function newServer(gp, options) {
  return new gp.AuthorizationServer({ now: () => NOW, onError: () => {}, ...options });
}

/** `fn()`'s error as data (`null` when it does not throw). */
function thrown(gp, fn) {
  try {
    fn();
    return null;
  } catch (e) {
    return { isGatepassError: e instanceof gp.GatepassError, code: e?.code ?? null, message: String(e?.message ?? e) };
  }
}

// ---------------------------------------------------------------------------------------------
// Item 2: identifiers from the wire reach no store unless some client could have them.

/**
 * RFC 7592 requests whose last path segment, once decoded, is no possible client id, for each
 * method; and two possible ids (the longest, 255 bytes, and a short unknown one) as controls.
 */
export async function impossibleClientIdPaths(gp) {
  const store = recordingStore(gp);
  const initialAccessToken = gp.generateClientSecret();
  const server = newServer(gp, {
    config: config(gp, { registration: { allowed_scope: 'orders:read', initial_access_token_hash: gp.hashClientSecret(initialAccessToken) } }),
    clientStore: store,
  });
  const segments = {
    '60,000 characters': 'x'.repeat(60_000),
    '256 characters': 'x'.repeat(256),
    'non-ASCII (café)': encodeURIComponent('café'),
    'a control character (%09)': 'a%09b',
  };
  const impossible = {};
  for (const [name, segment] of Object.entries(segments)) {
    impossible[name] = {};
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const body = method === 'PUT' ? { client_id: 'x', client_name: 'n' } : undefined;
      impossible[name][method] = (await server.handle(manageRequest(ISSUER, segment, method, 'some-token', body))).status;
    }
  }
  const callsForImpossible = store.calls.splice(0);
  // '%2F..' decodes to '/..': visible ASCII, so a possible id (the token endpoint would take
  // it as a client_id too), answered like any unknown client; a store sees it as an opaque key.
  const possible = {};
  for (const [name, segment] of [['255 characters', 'x'.repeat(255)], ['%2F..', '%2F..'], ['nosuchclient', 'nosuchclient']]) {
    possible[name] = await seen(await server.handle(manageRequest(ISSUER, segment, 'GET', 'some-token')));
  }
  return { impossible, callsForImpossible, possible, idsForPossible: store.calls.splice(0) };
}

/**
 * Token requests with a 600-byte client id (Basic and client_secret_post) against the same
 * requests for an unknown client: the answers, and the store calls each made.
 */
export async function longClientIdAtTokenEndpoint(gp) {
  const store = recordingStore(gp);
  const initialAccessToken = gp.generateClientSecret();
  const server = newServer(gp, {
    config: config(gp, { registration: { allowed_scope: 'orders:read', initial_access_token_hash: gp.hashClientSecret(initialAccessToken) } }),
    clientStore: store,
  });
  const long = 'c'.repeat(600);
  const requests = {
    basic: (id) => tokenRequest(ISSUER, { grant_type: 'client_credentials' }, { authorization: basic(id, 'a-secret') }),
    post: (id) => tokenRequest(ISSUER, { grant_type: 'client_credentials', client_id: id, client_secret: 'a-secret' }),
  };
  const out = {};
  for (const [method, request] of Object.entries(requests)) {
    for (const [name, id] of [['long', long], ['unknown', 'nosuchclient']]) {
      const answer = await seen(await server.handle(request(id)));
      out[`${method} ${name}`] = { answer, storeCalls: store.calls.splice(0) };
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Item 3: stored clients bound to their issuer and to today's policy.

/**
 * Servers A (ISSUER) and B (OTHER_ISSUER) share one MemoryClientStore; a client registered at
 * A tries B's token endpoint and B's RFC 7592 endpoint, next to an unknown client at B.
 */
export async function sharedStoreAcrossIssuers(gp) {
  const store = new gp.MemoryClientStore();
  const initialAccessToken = gp.generateClientSecret();
  const registration = { allowed_scope: 'orders:read', initial_access_token_hash: gp.hashClientSecret(initialAccessToken) };
  const a = newServer(gp, { config: config(gp, { registration }), clientStore: store });
  const b = newServer(gp, { config: config(gp, { issuer: OTHER_ISSUER, registration }), clientStore: store });
  const created = await a.handle(registerRequest(ISSUER, { client_name: 'a client', scope: 'orders:read' }, initialAccessToken));
  const client = await created.json();
  const token = (server, issuer, id, secret) =>
    server.handle(tokenRequest(issuer, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) })).then(seen);
  const manage = (method, id, body) => b.handle(manageRequest(OTHER_ISSUER, id, method, client.registration_access_token, body)).then(seen);
  const storedBefore = await store.get(client.client_id);
  const out = {
    registered: created.status,
    tokenAtA: (await token(a, ISSUER, client.client_id, client.client_secret)).status,
    tokenAtB: await token(b, OTHER_ISSUER, client.client_id, client.client_secret),
    unknownTokenAtB: await token(b, OTHER_ISSUER, 'nosuchclient', client.client_secret),
    readAtB: await manage('GET', client.client_id),
    unknownReadAtB: await manage('GET', 'nosuchclient'),
    updateAtB: await manage('PUT', client.client_id, { client_id: client.client_id, client_name: 'taken over' }),
    deleteAtB: await manage('DELETE', client.client_id),
  };
  out.recordUnchanged = (await store.get(client.client_id)) === storedBefore;
  out.tokenAtAAfter = (await token(a, ISSUER, client.client_id, client.client_secret)).status;
  return out;
}

/**
 * A client registered under a wide policy (three scopes, two audiences), then served by
 * servers of the same issuer and store with narrower policies.
 */
export async function narrowedPolicy(gp) {
  const store = new gp.MemoryClientStore();
  const initialAccessToken = gp.generateClientSecret();
  const serverWith = (allowedScope, audiences) =>
    newServer(gp, {
      config: config(gp, {
        default_audiences: audiences,
        registration: { allowed_scope: allowedScope, initial_access_token_hash: gp.hashClientSecret(initialAccessToken) },
      }),
      clientStore: store,
    });
  const wide = serverWith('orders:read orders:write reports:read', [API, API_2]);
  const created = await wide.handle(
    registerRequest(ISSUER, { client_name: 'wide', scope: 'orders:read orders:write reports:read' }, initialAccessToken),
  );
  const client = await created.json();
  const token = async (server, params = {}) => {
    const response = await server.handle(
      tokenRequest(ISSUER, { grant_type: 'client_credentials', ...params }, { authorization: basic(client.client_id, client.client_secret) }),
    );
    const body = await response.json();
    return body.access_token
      ? { status: response.status, scope: body.scope, aud: claimsOf(body.access_token).aud }
      : { status: response.status, error: body.error };
  };
  const read = async (server) => {
    const response = await server.handle(manageRequest(ISSUER, client.client_id, 'GET', client.registration_access_token));
    return { status: response.status, scope: (await response.json()).scope };
  };
  const narrow = serverWith('orders:read reports:read', [API_2]);
  return {
    registered: created.status,
    wide: await token(wide),
    narrow: await token(narrow),
    narrowAskingForRemovedScope: await token(narrow, { scope: 'orders:write' }),
    narrowAskingForRemovedAudience: await token(narrow, { resource: API }),
    narrowRead: await read(narrow),
    // Narrowing happens at load: the stored record is untouched.
    wideAgain: await token(wide),
    // No audience of the record is left: the client does not load at all.
    noAudienceLeft: await token(serverWith('orders:read', [API_3])),
  };
}

/**
 * A registered client under a server with `registration.enabled: false`, and under one with
 * no `registration` section at all (next to an unknown client there).
 */
export async function registrationOffOrAbsent(gp) {
  const store = new gp.MemoryClientStore();
  const signingKey = gp.generateSigningKey('ES256', 'as-1');
  const initialAccessToken = gp.generateClientSecret();
  const registering = newServer(gp, {
    config: config(gp, {
      signing_keys: [signingKey],
      registration: { allowed_scope: 'orders:read', initial_access_token_hash: gp.hashClientSecret(initialAccessToken) },
    }),
    clientStore: store,
  });
  const client = await (await registering.handle(registerRequest(ISSUER, { scope: 'orders:read' }, initialAccessToken))).json();
  const token = (server, id = client.client_id) =>
    server.handle(tokenRequest(ISSUER, { grant_type: 'client_credentials' }, { authorization: basic(id, client.client_secret) })).then(seen);
  const disabled = newServer(gp, {
    config: config(gp, { signing_keys: [signingKey], registration: { enabled: false, allowed_scope: 'orders:read' } }),
    clientStore: store,
  });
  const absent = newServer(gp, { config: config(gp, { signing_keys: [signingKey] }), clientStore: store });
  return {
    disabled: {
      token: (await token(disabled)).status,
      register: (await disabled.handle(registerRequest(ISSUER, { scope: 'orders:read' }))).status,
      read: (await disabled.handle(manageRequest(ISSUER, client.client_id, 'GET', client.registration_access_token))).status,
      registrationEndpoint: disabled.metadata().registration_endpoint ?? null,
    },
    absent: { token: await token(absent), unknownToken: await token(absent, 'nosuchclient') },
    storeSize: store.size,
  };
}

// ---------------------------------------------------------------------------------------------
// Item 4: registration without limits.

/** Registration configurations with and without an initial access token or the flag. */
export async function openRegistrationIsExplicit(gp) {
  const hash = gp.hashClientSecret(gp.generateClientSecret());
  const make = (registration) => () => newServer(gp, { config: config(gp, { registration }) });
  const store = new gp.MemoryClientStore();
  const open = newServer(gp, {
    config: config(gp, { registration: { allowed_scope: 'orders:read', open_registration: true } }),
    clientStore: store,
  });
  return {
    neither: thrown(gp, make({ allowed_scope: 'orders:read' })),
    both: thrown(gp, make({ allowed_scope: 'orders:read', initial_access_token_hash: hash, open_registration: true })),
    tokenOnly: thrown(gp, make({ allowed_scope: 'orders:read', initial_access_token_hash: hash })),
    flagOnly: thrown(gp, make({ allowed_scope: 'orders:read', open_registration: true })),
    openRegisters: (await open.handle(registerRequest(ISSUER, { scope: 'orders:read' }))).status,
    openStoreSize: store.size,
  };
}

/**
 * Registration requests over each cap (and at it, as controls): the answers and whether the
 * store was written.
 */
export async function registrationCaps(gp) {
  const store = recordingStore(gp);
  const initialAccessToken = gp.generateClientSecret();
  const scopes = Array.from({ length: 300 }, (_, i) => `s${i}`);
  const server = newServer(gp, {
    config: config(gp, {
      registration: { allowed_scope: scopes.join(' '), initial_access_token_hash: gp.hashClientSecret(initialAccessToken) },
      max_body_bytes: 128 * 1024,
    }),
    clientStore: store,
  });
  const jwk = await publicEcJwk();
  const keys = (n) => ({ keys: Array.from({ length: n }, (_, i) => ({ ...jwk, kid: `k${i}` })) });
  const privateKeyJwt = (n) => ({ token_endpoint_auth_method: 'private_key_jwt', jwks: keys(n) });
  const contacts = (n) => Array.from({ length: n }, (_, i) => `ops${i}@example.com`);
  const members = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x_member_${i}`, 'v']));
  const cases = {
    'client_name of 65,000 characters': { client_name: 'n'.repeat(65_000) },
    '17 contacts': { contacts: contacts(17) },
    '11 keys in jwks': privateKeyJwt(11),
    '300 scope tokens': { scope: scopes.join(' ') },
    '65 members': members(65),
    'client_name of 1024 characters': { client_name: 'n'.repeat(1024) },
    '16 contacts': { contacts: contacts(16) },
    '10 keys in jwks': privateKeyJwt(10),
    '256 scope tokens': { scope: scopes.slice(0, 256).join(' ') },
    '64 members': members(64),
  };
  const out = {};
  for (const [name, metadata] of Object.entries(cases)) {
    const response = await server.handle(registerRequest(ISSUER, metadata, initialAccessToken));
    const body = await response.json();
    out[name] = {
      status: response.status,
      error: body.error ?? null,
      description: body.error_description ?? null,
      stored: store.calls.splice(0).filter((c) => c.method === 'put').length,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Item 5: callbacks that can take the process down.

/**
 * Four failing requests (the client store throws) with an `onError` that rejects, throws,
 * returns a thenable whose `then` throws, and succeeds; then the counters.
 */
export async function errorCallbackFailures(gp) {
  const behaviours = [
    async () => {
      throw new Error('async logger down');
    },
    () => {
      throw new Error('sync logger down');
    },
    () => ({
      then() {
        throw new Error('thenable logger down');
      },
    }),
    async () => {},
  ];
  let calls = 0;
  const server = new gp.AuthorizationServer({
    config: config(gp, { registration: { allowed_scope: 'orders:read', initial_access_token_hash: gp.hashClientSecret('t') } }),
    clientStore: {
      get: async () => {
        throw new Error('store down');
      },
      put: async () => {},
      delete: async () => {},
    },
    now: () => NOW,
    onError: (e) => behaviours[calls++ % behaviours.length](e),
  });
  const statuses = [];
  for (let i = 0; i < behaviours.length; i++) {
    const response = await server.handle(tokenRequest(ISSUER, { grant_type: 'client_credentials' }, { authorization: basic('someone', 's') }));
    statuses.push(response.status);
  }
  // Let the rejections of the callbacks run (an unhandled one would be reported by now).
  await sleep(50);
  return { statuses, onErrorCalls: calls, counters: server.counters ?? null };
}

/**
 * A request per store method (client store get, put, delete; replay store insertIfAbsent)
 * whose call never settles, with `storeTimeoutMs`. With `glue` (the package's wasm-bindgen
 * module) every TokenExchange the server begins is tracked, and whether it was freed.
 */
export async function hungStores(gp, { glue } = {}) {
  const never = () => new Promise(() => {});
  const exchanges = [];
  const freed = new Set();
  const restore = [];
  if (glue) {
    const { Server, TokenExchange } = glue;
    const beginToken = Server.prototype.beginToken;
    const free = TokenExchange.prototype.free;
    Server.prototype.beginToken = function (...args) {
      const exchange = beginToken.apply(this, args);
      exchanges.push(exchange);
      return exchange;
    };
    TokenExchange.prototype.free = function () {
      freed.add(this);
      return free.call(this);
    };
    restore.push(() => {
      Server.prototype.beginToken = beginToken;
      TokenExchange.prototype.free = free;
    });
  }
  try {
    const errors = [];
    const counters = [];
    const initialAccessToken = gp.generateClientSecret();
    const hmacSecret = gp.generateClientSecret();
    const registration = { allowed_scope: 'orders:read', initial_access_token_hash: gp.hashClientSecret(initialAccessToken) };
    const clients = [{ client_id: 'hmac-worker', token_endpoint_auth_method: 'client_secret_jwt', client_secret: hmacSecret, scope: 'orders:read' }];
    const serverWith = (stores) => {
      const server = new gp.AuthorizationServer({
        config: config(gp, { clients, registration }),
        now: () => NOW,
        storeTimeoutMs: STORE_TIMEOUT_MS,
        onError: (e) => errors.push({ name: e?.name ?? null, code: e?.code ?? null, message: String(e?.message ?? e) }),
        ...stores,
      });
      counters.push(() => server.counters);
      return server;
    };
    // A client store that works except for `method`.
    const storeHangingOn = (method) => {
      const inner = new gp.MemoryClientStore();
      return {
        get: (id) => inner.get(id),
        put: (id, record) => inner.put(id, record),
        delete: (id) => inner.delete(id),
        [method]: never,
      };
    };
    const cases = {};
    const timed = async (name, server, request) => {
      const started = Date.now();
      const answer = await answerOrHung(server, request);
      cases[name] = { answer, elapsedMs: Date.now() - started };
    };

    await timed(
      'clientStore.get (token endpoint)',
      serverWith({ clientStore: storeHangingOn('get') }),
      tokenRequest(ISSUER, { grant_type: 'client_credentials' }, { authorization: basic('someone', 's') }),
    );
    await timed(
      'replayStore.insertIfAbsent (token endpoint)',
      serverWith({ replayStore: { insertIfAbsent: never } }),
      tokenRequest(ISSUER, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await hs256Assertion(hmacSecret, 'hmac-worker', ISSUER, NOW),
      }),
    );
    await timed(
      'clientStore.put (registration)',
      serverWith({ clientStore: storeHangingOn('put') }),
      registerRequest(ISSUER, { scope: 'orders:read' }, initialAccessToken),
    );
    await timed(
      'clientStore.get (RFC 7592)',
      serverWith({ clientStore: storeHangingOn('get') }),
      manageRequest(ISSUER, 'someone', 'GET', 'some-token'),
    );
    // delete: register through a store that works, then delete through one that hangs there.
    const deleting = storeHangingOn('delete');
    const server = serverWith({ clientStore: deleting });
    const client = await (await server.handle(registerRequest(ISSUER, { scope: 'orders:read' }, initialAccessToken))).json();
    await timed('clientStore.delete (RFC 7592)', server, manageRequest(ISSUER, client.client_id, 'DELETE', client.registration_access_token));

    const total = { errorCallbackFailures: 0, storeTimeouts: 0, storeErrors: 0 };
    for (const read of counters) {
      const c = read();
      if (c === undefined) return { cases, errors, counters: null, exchanges: null };
      total.errorCallbackFailures += c.errorCallbackFailures;
      total.storeTimeouts += c.storeTimeouts;
      total.storeErrors += c.storeErrors;
    }
    return {
      cases,
      errors,
      counters: total,
      exchanges: glue ? { begun: exchanges.length, freed: exchanges.filter((e) => freed.has(e)).length } : null,
    };
  } finally {
    for (const undo of restore) undo();
  }
}

/**
 * Stores that answer at once, with a store timeout of ten minutes: run in a child process,
 * the process must still end on its own (every timer cleared).
 */
export async function storeTimersCleared(gp) {
  const initialAccessToken = gp.generateClientSecret();
  const server = new gp.AuthorizationServer({
    config: config(gp, { registration: { allowed_scope: 'orders:read', initial_access_token_hash: gp.hashClientSecret(initialAccessToken) } }),
    now: () => NOW,
    storeTimeoutMs: 600_000,
  });
  const created = await server.handle(registerRequest(ISSUER, { scope: 'orders:read' }, initialAccessToken));
  const client = await created.json();
  const token = await server.handle(
    tokenRequest(ISSUER, { grant_type: 'client_credentials' }, { authorization: basic(client.client_id, client.client_secret) }),
  );
  return { registered: created.status, token: token.status, counters: server.counters ?? null };
}

// ---------------------------------------------------------------------------------------------
// Item 6: a provider object changed after use.

/** A token for API verified with provider P; P.audiences changed to API_2, then back. */
export async function mutatedProvider(gp) {
  const server = newServer(gp, { config: config(gp) });
  const { access_token: token } = await server.mintAccessToken({ clientId: 'billing', scope: 'orders:read' });
  const provider = { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(server.jwks()) } };
  const verify = async () => {
    try {
      return { ok: true, sub: (await gp.verifyAccessToken(token, provider, { now: NOW })).sub };
    } catch (e) {
      return { ok: false, code: e.code ?? null, status: e.status ?? null };
    }
  };
  const first = await verify();
  provider.audiences = [API_2];
  const afterChange = await verify();
  provider.audiences = [API];
  const changedBack = await verify();
  return { first, afterChange, changedBack };
}

/** Every scenario by name (the workerd Worker and the child-process runner look them up here). */
export const scenarios = {
  impossibleClientIdPaths,
  longClientIdAtTokenEndpoint,
  sharedStoreAcrossIssuers,
  narrowedPolicy,
  registrationOffOrAbsent,
  openRegistrationIsExplicit,
  registrationCaps,
  errorCallbackFailures,
  hungStores,
  storeTimersCleared,
  mutatedProvider,
};
