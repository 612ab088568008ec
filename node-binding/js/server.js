// The runtime-independent part of the package: the fetch-API authorization server and the
// low-level calls, over an initialized wasm-bindgen module (dist/wasm/gatepass_node.js). Every
// protocol decision is a call into gatepass-core; this file moves bytes between the Request,
// the stores and the core, and turns the core's answers into Responses.
//
// Each entry (node.js, node.cjs, workerd.js, deno.js, browser.js) initializes the wasm its own
// way and calls `createGatepass(wasm)` once.

import { GatepassError, fromWasmError } from './errors.js';
import { MemoryClientStore, MemoryReplayStore, systemNow } from './stores.js';
import { createWebCrypto } from './webcrypto.js';

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** Longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/** Thrown inside `handle` when the body is over the limit; becomes 413. */
class BodyTooLarge extends Error {}

function jsonResponse(status, body, extraHeaders = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...extraHeaders },
  });
}

function emptyResponse(status, headers = {}) {
  return new Response(null, { status, headers });
}

/**
 * The core's `{status, headers: [[name, value]...], body}` as a Response. A HEAD request, a
 * null-body status or an empty body gives a Response without a body.
 */
function toResponse(r, head = false) {
  const headers = new Headers();
  for (const [name, value] of r.headers) headers.append(name, value);
  const noBody = head || NULL_BODY_STATUS.has(r.status) || r.body === '';
  return new Response(noBody ? null : r.body, { status: r.status, headers });
}

/** The request body, refusing more than `limit` bytes without reading them all. */
async function readBody(request, limit) {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^[0-9]+$/.test(declared.trim()) && Number(declared.trim()) > limit) {
    throw new BodyTooLarge();
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.byteLength;
  }
  return body;
}

function optionalHeader(request, name) {
  return request.headers.get(name) ?? undefined;
}

function checkNow(value) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new GatepassError('invalid_request', 'now must give Unix time in seconds');
  }
  return Math.floor(value);
}

/** `now` may be a number of seconds or a function that returns one. */
function resolveNow(now) {
  if (now === undefined) return systemNow();
  return checkNow(typeof now === 'function' ? now() : now);
}

function toJsonText(value, what) {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') {
    throw new GatepassError('invalid_configuration', `${what}: must be an object`);
  }
  return JSON.stringify(value);
}

/** Whether `value` has a callable `then` (a promise from any realm or library). */
function isThenable(value) {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof value.then === 'function';
}

function checkStore(store, methods, what) {
  for (const m of methods) {
    if (typeof store?.[m] !== 'function') {
      throw new GatepassError('invalid_configuration', `${what}: must have a ${m}() method`);
    }
  }
  return store;
}

/**
 * @param {typeof import('../dist/wasm/gatepass_node.js')} wasm an initialized wasm-bindgen module
 */
export function createGatepass(wasm) {
  const webcrypto = createWebCrypto();
  class AuthorizationServer {
    #server;
    #now;
    #maxBodyBytes;
    #onError;
    #storeTimeoutMs;
    #counters = { errorCallbackFailures: 0, storeTimeouts: 0 };

    /**
     * @param {{config: object|string, clientStore?: object, replayStore?: object,
     *          now?: () => number, maxBodyBytes?: number, storeTimeoutMs?: number,
     *          onError?: (error: unknown) => unknown}} options
     */
    constructor(options) {
      if (options === null || typeof options !== 'object') {
        throw new GatepassError('invalid_configuration', 'options: must be an object with a config');
      }
      const { config, clientStore, replayStore, now, maxBodyBytes, storeTimeoutMs, onError } = options;
      if (config === undefined) throw new GatepassError('invalid_configuration', 'config: is required');
      if (now !== undefined && typeof now !== 'function') {
        throw new GatepassError('invalid_configuration', 'now: must be a function returning Unix seconds');
      }
      if (maxBodyBytes !== undefined && !(Number.isInteger(maxBodyBytes) && maxBodyBytes >= 0)) {
        throw new GatepassError('invalid_configuration', 'maxBodyBytes: must be a non-negative integer');
      }
      // setTimeout fires at once for delays over 2^31 - 1 ms: refuse them rather than time out
      // every store call.
      if (storeTimeoutMs !== undefined && !(Number.isInteger(storeTimeoutMs) && storeTimeoutMs > 0 && storeTimeoutMs <= MAX_TIMER_MS)) {
        throw new GatepassError(
          'invalid_configuration',
          `storeTimeoutMs: must be a positive integer of milliseconds, at most ${MAX_TIMER_MS}`,
        );
      }
      if (onError !== undefined && typeof onError !== 'function') {
        throw new GatepassError('invalid_configuration', 'onError: must be a function');
      }
      const text = toJsonText(config, 'config');
      try {
        this.#server = new wasm.Server(text);
      } catch (e) {
        throw fromWasmError(e);
      }
      this.#now = now ?? systemNow;
      this.#maxBodyBytes = maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
      this.#storeTimeoutMs = storeTimeoutMs;
      this.#onError = onError ?? ((e) => console.error('gatepass: request failed:', e));
      this.clientStore = checkStore(clientStore ?? new MemoryClientStore(), ['get', 'put', 'delete'], 'clientStore');
      this.replayStore = checkStore(
        replayStore ?? new MemoryReplayStore({ now: this.#now }),
        ['insertIfAbsent'],
        'replayStore',
      );
    }

    /** The issuer identifier. */
    get issuer() {
      return this.#server.issuer();
    }

    /**
     * A snapshot of the failure counters: `errorCallbackFailures` (calls of `onError` that
     * threw or whose promise rejected) and `storeTimeouts` (store calls that did not settle
     * within `storeTimeoutMs`).
     */
    get counters() {
      return Object.freeze({ ...this.#counters });
    }

    /** The public JWKS this server publishes (`{keys: [...]}`). */
    jwks() {
      return JSON.parse(JSON.parse(this.#server.jwksResponse()).response.body);
    }

    /** The RFC 8414 metadata document. */
    metadata() {
      return JSON.parse(JSON.parse(this.#server.metadataResponse()).response.body);
    }

    /**
     * Serves one request: token endpoint, JWKS, metadata, registration (RFC 7591) and client
     * configuration (RFC 7592); 404 for any other path. Never rejects: a failure (a store that
     * throws, a bug) is logged through `onError` and answered 500 `server_error`.
     * @param {Request} request
     * @returns {Promise<Response>}
     */
    async handle(request) {
      try {
        return await this.#dispatch(request);
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          return jsonResponse(413, { error: 'invalid_request', error_description: 'request body is too large' });
        }
        this.#report(e);
        return jsonResponse(500, { error: 'server_error', error_description: 'internal error' });
      }
    }

    /**
     * Hands `error` to `onError`. A logger that throws, or whose promise rejects, is counted
     * and otherwise ignored: it must not become an uncaught exception or an unhandled
     * rejection, which ends a Node process.
     */
    #report(error) {
      let out;
      try {
        out = this.#onError(error);
      } catch {
        this.#counters.errorCallbackFailures++;
        return;
      }
      if (isThenable(out)) {
        // Promise.resolve adopts any thenable, and turns a `then` that throws into a rejection.
        Promise.resolve(out).catch(() => {
          this.#counters.errorCallbackFailures++;
        });
      }
    }

    /**
     * `store[method](...args)`, raced against `storeTimeoutMs`: a call that does not settle in
     * time fails the request closed (500 `server_error`, like a store that throws), so the
     * request's wasm objects are freed by its `finally`. The timer is cleared as soon as the
     * call settles, so it never keeps the event loop alive.
     */
    async #call(store, name, method, ...args) {
      const ms = this.#storeTimeoutMs;
      if (ms === undefined) return store[method](...args);
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => {
          this.#counters.storeTimeouts++;
          reject(new GatepassError('server_error', `${name}.${method} did not settle within ${ms} ms (storeTimeoutMs)`));
        }, ms);
      });
      try {
        return await Promise.race([store[method](...args), timeout]);
      } finally {
        clearTimeout(timer);
      }
    }

    async #dispatch(request) {
      const url = new URL(request.url);
      const method = request.method.toUpperCase();
      const route = this.#server.route(url.pathname);
      switch (route) {
        case 'token':
          return this.#token(request, method);
        case 'jwks':
        case 'metadata': {
          if (method !== 'GET' && method !== 'HEAD') return emptyResponse(405, { allow: 'GET, HEAD' });
          const out = route === 'jwks' ? this.#server.jwksResponse() : this.#server.metadataResponse();
          return toResponse(JSON.parse(out).response, method === 'HEAD');
        }
        case 'register':
          return this.#register(request, method);
        case 'client':
          return this.#client(request, method, url.pathname);
        default:
          return emptyResponse(404);
      }
    }

    #signingKey = null;

    /** The private JWK of a signing key, read from the core once per kid. */
    get #signingKeyOf() {
      this.#signingKey ??= signingKeyReader(this.#server);
      return this.#signingKey;
    }

    /**
     * Mints an RFC 9068 access token with this server's active key for a client the caller
     * authenticated by other means (no client authentication, no client limits: the caller
     * answers for them). `audience` defaults to the configuration's `default_audiences`.
     */
    mintAccessToken(options) {
      return mintOn(this.#server, this.#signingKeyOf, options, this.#now);
    }

    async #token(request, method) {
      const body = await readBody(request, this.#maxBodyBytes);
      const now = checkNow(this.#now());
      const exchange = this.#server.beginToken(
        method,
        optionalHeader(request, 'content-type'),
        optionalHeader(request, 'authorization'),
        body,
      );
      try {
        // The core goes as far as it can without the host (for a configured client with a
        // secret: parse, authenticate, prepare the token in one call); each answer says what
        // the host does next. Every decision is the core's.
        let step = JSON.parse(exchange.advance(now));
        let record;
        for (;;) {
          if (step.response) return toResponse(step.response);
          if (step.clientId !== undefined) {
            record = (await this.#call(this.clientStore, 'clientStore', 'get', step.clientId)) ?? undefined;
            if (record !== undefined && typeof record !== 'string') {
              throw new TypeError('clientStore.get must resolve to a string or undefined');
            }
            step = JSON.parse(exchange.authenticateBegin(record, now));
          } else if (step.verify) {
            // The assertion's signature: WebCrypto where the runtime has the algorithm, else
            // the wasm implementation (same rules either way).
            const valid = await webcrypto.verify(step.verify);
            step = JSON.parse(
              valid === undefined ? exchange.authenticate(record, now) : exchange.authenticateFinish(valid, now),
            );
          } else if (step.replay) {
            const fresh = await this.#call(this.replayStore, 'replayStore', 'insertIfAbsent', step.replay.key, step.replay.expiresAt);
            if (typeof fresh !== 'boolean') throw new TypeError('replayStore.insertIfAbsent must resolve to a boolean');
            step = JSON.parse(exchange.finishReplay(fresh));
          } else if (step.authenticated === true) {
            step = JSON.parse(exchange.mintBegin(now));
          } else if (step.sign) {
            const signature = await webcrypto.sign(step.sign.alg, this.#signingKeyOf(step.sign.kid), step.sign.input);
            const minted = signature === undefined ? exchange.mint(now) : exchange.mintFinish(signature);
            return toResponse(JSON.parse(minted).response);
          } else {
            throw new Error('unexpected answer from the core');
          }
        }
      } finally {
        exchange.free();
      }
    }

    async #register(request, method) {
      if (method !== 'POST') return emptyResponse(405, { allow: 'POST' });
      const body = await readBody(request, this.#maxBodyBytes);
      const now = checkNow(this.#now());
      const out = JSON.parse(this.#server.register(optionalHeader(request, 'authorization'), body, now));
      if (out.record !== undefined) {
        const clientId = JSON.parse(out.record).client_id;
        await this.#call(this.clientStore, 'clientStore', 'put', clientId, out.record);
      }
      return toResponse(out.response);
    }

    async #client(request, method, path) {
      if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') {
        return emptyResponse(405, { allow: 'GET, PUT, DELETE' });
      }
      let clientId;
      try {
        clientId = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
      } catch {
        return emptyResponse(404);
      }
      // No client can have this id (the core's rule, limits::is_client_id: 1 to 255 VSCHAR,
      // RFC 6749 Appendix A.1), so there is no client configuration endpoint (RFC 7592 §2)
      // here; the store is not asked.
      if (!wasm.isClientId(clientId)) return emptyResponse(404);
      const body = method === 'PUT' ? await readBody(request, this.#maxBodyBytes) : new Uint8Array(0);
      const record = await this.#call(this.clientStore, 'clientStore', 'get', clientId);
      if (record !== undefined && record !== null && typeof record !== 'string') {
        throw new TypeError('clientStore.get must resolve to a string or undefined');
      }
      const out = JSON.parse(
        this.#server.manageClient(method, record ?? undefined, optionalHeader(request, 'authorization'), body),
      );
      if (out.record !== undefined) await this.#call(this.clientStore, 'clientStore', 'put', clientId, out.record);
      else if (out.delete === true) await this.#call(this.clientStore, 'clientStore', 'delete', clientId);
      return toResponse(out.response);
    }

    /** Releases the wasm memory now (otherwise the garbage collector does). */
    free() {
      this.#server.free();
    }
  }

  /** A memoized `kid -> private JWK` reader over a wasm Server (keys parsed once per kid). */
  function signingKeyReader(server) {
    const keys = new Map();
    return (kid) => {
      let jwk = keys.get(kid);
      if (jwk === undefined) {
        jwk = JSON.parse(server.signingKey(kid) ?? 'null');
        keys.set(kid, jwk);
      }
      return jwk;
    };
  }

  function stringList(value, name, splitSpaces) {
    if (value === undefined) return [];
    if (typeof value === 'string') return splitSpaces ? value.split(' ').filter((s) => s !== '') : [value];
    if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) {
      throw new GatepassError('invalid_request', `${name}: must be a string or an array of strings`);
    }
    return value;
  }

  /** mintAccessToken over a wasm Server: the core builds the token, WebCrypto (or wasm) signs. */
  async function mintOn(server, signingKeyOf, options, defaultNow) {
    if (options === null || typeof options !== 'object') {
      throw new GatepassError('invalid_request', 'options: must be an object with a clientId');
    }
    const { clientId, scope, audience, ttl, now } = options;
    if (typeof clientId !== 'string') throw new GatepassError('invalid_request', 'clientId: must be a string');
    const scopes = stringList(scope, 'scope', true);
    const audiences = stringList(audience, 'audience', false);
    if (ttl !== undefined && typeof ttl !== 'number') {
      throw new GatepassError('invalid_request', 'ttl: must be a number of seconds');
    }
    const at = now === undefined ? checkNow(defaultNow()) : resolveNow(now);
    let pending;
    try {
      pending = server.mintForHost(clientId, scopes, audiences, ttl, at);
    } catch (e) {
      throw fromWasmError(e);
    }
    try {
      const step = JSON.parse(pending.step());
      const signature = await webcrypto.sign(step.alg, signingKeyOf(step.kid), step.input);
      return JSON.parse(signature === undefined ? pending.signBuiltin() : pending.finish(signature));
    } catch (e) {
      throw e instanceof GatepassError ? e : fromWasmError(e);
    } finally {
      pending.free();
    }
  }

  // Standalone mintAccessToken: one wasm Server per (issuer, keys, active kid, ttl), kept for
  // the most recent few so repeated calls do not parse the keys again.
  const minters = new Map();
  const MAX_MINTERS = 16;

  function minterFor(options) {
    const { issuer, signingKey, signingKeys, activeKid } = options;
    if (typeof issuer !== 'string') throw new GatepassError('invalid_configuration', 'issuer: must be a string');
    const keys = signingKeys ?? (signingKey === undefined ? undefined : [signingKey]);
    if (!Array.isArray(keys)) {
      throw new GatepassError('invalid_configuration', 'signingKey: a private JWK (or signingKeys: an array) is required');
    }
    const config = { issuer, signing_keys: keys };
    if (activeKid !== undefined) config.active_kid = activeKid;
    const text = JSON.stringify(config);
    let minter = minters.get(text);
    if (minter === undefined) {
      let server;
      try {
        server = new wasm.Server(text);
      } catch (e) {
        throw fromWasmError(e);
      }
      minter = { server, signingKeyOf: signingKeyReader(server) };
      if (minters.size >= MAX_MINTERS) {
        const oldest = minters.keys().next().value;
        minters.get(oldest)?.server.free();
        minters.delete(oldest);
      }
      minters.set(text, minter);
    }
    return minter;
  }

  /**
   * Mints an RFC 9068 access token outside the token endpoint, for hosts that authenticated the
   * client themselves: `{issuer, signingKey | signingKeys (+ activeKid), clientId, scope,
   * audience, ttl, now}`. Resolves to the RFC 6749 §5.1 token response object.
   */
  async function mintAccessToken(options) {
    if (options === null || typeof options !== 'object') {
      throw new GatepassError('invalid_request', 'options: must be an object');
    }
    const minter = minterFor(options);
    if (options.audience === undefined || (Array.isArray(options.audience) && options.audience.length === 0)) {
      throw new GatepassError('invalid_target', 'audience: at least one audience is required');
    }
    return mintOn(minter.server, minter.signingKeyOf, options, systemNow);
  }

  // One Verifier per provider content: an object is keyed by its JSON text, read on every
  // call, so a changed object (new `audiences`, new keys) gets a verifier of its own and never
  // the one parsed before the change. The most recently used MAX_VERIFIERS are kept.
  // JSON.stringify of a typical provider (one inline key, 250–550 characters) measured 2–4 µs
  // per call in Node 20, about 1% of a verification (README, "Low-level calls").
  const verifiers = new Map();
  const MAX_VERIFIERS = 64;

  function verifierFor(provider) {
    if (typeof provider !== 'string' && (provider === null || typeof provider !== 'object')) {
      throw new GatepassError('invalid_configuration', 'provider: must be an object');
    }
    const text = typeof provider === 'string' ? provider : JSON.stringify(provider);
    let v = verifiers.get(text);
    if (v !== undefined) {
      // Most recently used last: the first entry is the one to drop.
      verifiers.delete(text);
    } else {
      v = newVerifier(text);
      if (verifiers.size >= MAX_VERIFIERS) {
        // Dropped, not freed: a verification in flight may still use it after its signature
        // check (finishBuiltin); wasm-bindgen's FinalizationRegistry frees it once unused.
        verifiers.delete(verifiers.keys().next().value);
      }
    }
    verifiers.set(text, v);
    return v;
  }

  function newVerifier(text) {
    try {
      return new wasm.Verifier(text);
    } catch (e) {
      throw fromWasmError(e);
    }
  }

  /**
   * Verifies an RFC 9068 access token for a provider (the Envoy filter's provider format with
   * `local_jwks`) and the scopes required. Resolves to the claims; rejects with a GatepassError
   * carrying the RFC 6750 `code`, `status` and `wwwAuthenticate`.
   */
  async function verifyAccessToken(token, provider, options = {}) {
    const verifier = verifierFor(provider);
    let scopes = options.scopes ?? [];
    if (typeof scopes === 'string') scopes = scopes.split(' ').filter((s) => s !== '');
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) {
      throw new GatepassError('invalid_request', 'scopes: must be an array of strings');
    }
    const now = resolveNow(options.now);
    const realm = options.realm ?? 'gatepass';
    const text = typeof token === 'string' ? token : '';
    // One pass over the token in the core (parse, key choice, claim checks at `now`); the
    // signature in WebCrypto where it can, else in wasm; the core releases the verdict.
    const job = verifier.start(text, now);
    let out;
    try {
      const refused = job.error(realm);
      if (refused !== undefined) {
        out = JSON.parse(refused);
      } else {
        const valid = await webcrypto.verify({
          alg: job.alg(),
          jwk: keyJwkOf(verifier, job.key()),
          input: job.input(),
          signature: job.signature(),
        });
        out = JSON.parse(
          valid === undefined ? job.finishBuiltin(verifier, scopes, realm) : job.finish(valid, scopes, realm),
        );
      }
    } finally {
      job.free();
    }
    if (out.claims !== undefined) return out.claims;
    throw new GatepassError(out.error ?? 'invalid_token', out.description ?? 'the access token is not valid', {
      status: out.status,
      wwwAuthenticate: out.wwwAuthenticate,
    });
  }

  // The JWK objects of each verifier's keys, parsed once (and so imported once by WebCrypto).
  const verifierKeys = new WeakMap();
  function keyJwkOf(verifier, index) {
    let keys = verifierKeys.get(verifier);
    if (!keys) {
      keys = [];
      verifierKeys.set(verifier, keys);
    }
    if (keys[index] === undefined) keys[index] = JSON.parse(verifier.keyJwk(index) ?? 'null');
    return keys[index];
  }

  function generateSigningKey(alg, kid) {
    if (typeof alg !== 'string') throw new GatepassError('invalid_request', 'alg: must be a string');
    try {
      return JSON.parse(wasm.generateSigningKey(alg, kid ?? undefined));
    } catch (e) {
      throw fromWasmError(e);
    }
  }

  function publicJwks(privateJwks) {
    const text = typeof privateJwks === 'string' ? privateJwks : JSON.stringify(privateJwks);
    try {
      return JSON.parse(wasm.publicJwks(text));
    } catch (e) {
      throw fromWasmError(e);
    }
  }

  function hashClientSecret(secret) {
    if (typeof secret !== 'string') throw new GatepassError('invalid_request', 'secret: must be a string');
    return wasm.hashClientSecret(secret);
  }

  function generateClientSecret() {
    return wasm.generateClientSecret();
  }

  return {
    AuthorizationServer,
    verifyAccessToken,
    mintAccessToken,
    generateSigningKey,
    publicJwks,
    hashClientSecret,
    generateClientSecret,
  };
}
