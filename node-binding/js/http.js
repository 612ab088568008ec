// The fetch-API adapter of the authorization server (`AuthorizationServer#handle`): it moves
// bytes between the Request, the stores, WebCrypto and the core, and turns the core's answers
// into Responses. What a request is (route, method, 404/405/413), the token exchange's steps and
// every registration decision are the core's (gatepass-core `routes` and `exchange`); this file
// only does what the core asks for next.

import { GatepassError } from './errors.js';
import { checkNow, toJsonText, wasmCall } from './common.js';
import { MemoryClientStore, MemoryReplayStore, systemNow } from './stores.js';
import { tracked } from './signer.js';

/** Longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Statuses whose Response cannot have a body (fetch spec). */
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/** Thrown inside `handle` when the body is over the limit; answered with the core's 413. */
class BodyTooLarge extends Error {}

/** A store call that threw, rejected or did not settle in time: answered 503. */
class StoreUnavailable extends GatepassError {
  /** @param {string} message @param {unknown} [cause] */
  constructor(message, cause) {
    super('temporarily_unavailable', message, cause === undefined ? {} : { cause });
  }
}

/**
 * The core's `{status, headers: [[name, value]...], body}` as a Response. A HEAD request, a
 * null-body status or an empty body gives a Response without a body.
 */
function toResponse(r, head = false) {
  const noBody = head || NULL_BODY_STATUS.has(r.status) || r.body === '';
  // The pairs as they are: the Response appends each in order (repeated names kept), one step
  // less than filling a Headers object first (about 5 µs a response in Node's undici).
  return new Response(noBody ? null : r.body, { status: r.status, headers: r.headers });
}

/** The request body, refusing more than `limit` bytes without reading them all. */
async function readBody(request, limit) {
  const declared = request.headers.get('content-length');
  const length = declared !== null && /^[0-9]+$/.test(declared.trim()) ? Number(declared.trim()) : undefined;
  if (length !== undefined && length > limit) throw new BodyTooLarge();
  if (request.body === null) return new Uint8Array(0);
  if (length !== undefined) {
    // A declared length within the limit: the runtime's HTTP framing delivers exactly that many
    // bytes, so one read of the whole body is bounded. Much cheaper than a reader loop (in
    // workerd ~20 µs against ~95 µs per request); checked again after the read.
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > limit) throw new BodyTooLarge();
    return body;
  }
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

/** A stored record from `clientStore.get`: a string, or undefined when there is none. */
function checkRecord(record) {
  if (record === undefined || record === null) return undefined;
  if (typeof record !== 'string') throw new TypeError('clientStore.get must resolve to a string or undefined');
  return record;
}

/**
 * @param {typeof import('../dist/wasm/gatepass_node.js')} wasm an initialized wasm-bindgen module
 * @param {ReturnType<typeof import('./webcrypto.js').createWebCrypto>} webcrypto
 * @param {ReturnType<typeof import('./mint.js').createMint>} mint
 */
export function createAuthorizationServer(wasm, webcrypto, mint) {
  return class AuthorizationServer {
    #server;
    #now;
    #maxBodyBytes;
    #tooLarge;
    #internalError;
    #storeUnavailable;
    #onError;
    #storeTimeoutMs;
    #signingKeyOf;
    #counters = { errorCallbackFailures: 0, storeTimeouts: 0, storeErrors: 0 };

    /**
     * @param {{config: object|string, clientStore?: object, replayStore?: object,
     *          now?: () => number, storeTimeoutMs?: number,
     *          onError?: (error: unknown) => unknown}} options
     */
    constructor(options) {
      if (options === null || typeof options !== 'object') {
        throw new GatepassError('invalid_configuration', 'options: must be an object with a config');
      }
      const { config, clientStore, replayStore, now, storeTimeoutMs, onError } = options;
      if (config === undefined) throw new GatepassError('invalid_configuration', 'config: is required');
      if (options.maxBodyBytes !== undefined) {
        // One body limit, in the configuration, for every shell.
        throw new GatepassError('invalid_configuration', 'maxBodyBytes: is now config.max_body_bytes');
      }
      if (now !== undefined && typeof now !== 'function') {
        throw new GatepassError('invalid_configuration', 'now: must be a function returning Unix seconds');
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
      this.#server = wasmCall(() => new wasm.Server(text));
      this.#maxBodyBytes = this.#server.maxBodyBytes();
      // Made now, so answering a failure never needs the wasm module that may have failed.
      this.#tooLarge = JSON.parse(this.#server.tooLarge()).response;
      this.#internalError = JSON.parse(this.#server.internalError()).response;
      this.#storeUnavailable = JSON.parse(this.#server.storeUnavailable()).response;
      this.#signingKeyOf = mint.signingKeyReader(this.#server);
      this.#now = now ?? systemNow;
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
     * threw or whose promise rejected), `storeTimeouts` (store calls that did not settle
     * within `storeTimeoutMs`) and `storeErrors` (store calls that threw or rejected).
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
     * Mints an RFC 9068 access token with this server's active key for a client the caller
     * authenticated by other means (no client authentication, no client limits: the caller
     * answers for them). `audience` defaults to the configuration's `default_audiences`.
     */
    mintAccessToken(options) {
      return mint.mintOn(this.#server, this.#signingKeyOf, options, this.#now);
    }

    /**
     * Serves one request: token endpoint, JWKS, metadata, registration (RFC 7591) and client
     * configuration (RFC 7592); 404 for any other path. Never rejects: a store that throws,
     * rejects or does not settle within `storeTimeoutMs` is logged through `onError` and
     * answered 503 `temporarily_unavailable` with `Retry-After`; any other failure (a store
     * answering with the wrong type, a bug) is logged and answered 500 `server_error`.
     * @param {Request} request
     * @returns {Promise<Response>}
     */
    handle(request) {
      return tracked(async () => {
        try {
          return await this.#dispatch(request);
        } catch (e) {
          if (e instanceof BodyTooLarge) return toResponse(this.#tooLarge);
          this.#report(e);
          return toResponse(e instanceof StoreUnavailable ? this.#storeUnavailable : this.#internalError);
        }
      });
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
     * `store[method](...args)`, raced against `storeTimeoutMs`. A call that throws, rejects or
     * does not settle in time fails the request closed with a `StoreUnavailable` (503), so the
     * request's wasm objects are freed by its `finally`. The timer is cleared as soon as the
     * call settles, so it never keeps the event loop alive.
     */
    async #call(store, name, method, ...args) {
      const ms = this.#storeTimeoutMs;
      let timer;
      let timedOut = false;
      const timeout = new Promise((_, reject) => {
        if (ms === undefined) return;
        timer = setTimeout(() => {
          timedOut = true;
          this.#counters.storeTimeouts++;
          reject(new StoreUnavailable(`${name}.${method} did not settle within ${ms} ms (storeTimeoutMs)`));
        }, ms);
      });
      try {
        // A synchronous throw becomes a rejection here, like an asynchronous one.
        return await Promise.race([Promise.resolve().then(() => store[method](...args)), timeout]);
      } catch (e) {
        if (timedOut) throw e;
        this.#counters.storeErrors++;
        throw new StoreUnavailable(`${name}.${method} failed: ${e instanceof Error ? e.message : String(e)}`, e);
      } finally {
        clearTimeout(timer);
      }
    }

    async #dispatch(request) {
      const method = request.method;
      // The path as the URL parser normalised it (dot segments, percent-encoding): what the
      // fetch API gives every runtime alike.
      const step = JSON.parse(this.#server.route(method, new URL(request.url).pathname));
      if (step.response) return toResponse(step.response, method.toUpperCase() === 'HEAD');
      switch (step.route) {
        case 'token':
          return this.#token(request, method, false);
        case 'introspect':
          return this.#token(request, method, true);
        case 'register':
          return this.#register(request);
        case 'client':
          return this.#client(request, step.clientId, step.method);
        default:
          throw new Error('unexpected route from the core');
      }
    }

    // A token request, or an RFC 7662 introspection request (`introspection`): the same
    // steps, asked for by the core.
    async #token(request, method, introspection) {
      const body = await readBody(request, this.#maxBodyBytes);
      const now = checkNow(this.#now());
      const exchange = this.#server.beginToken(
        method,
        optionalHeader(request, 'content-type'),
        optionalHeader(request, 'authorization'),
        body,
        now,
        introspection,
      );
      try {
        // The core's token exchange says what comes next; this loop only does that I/O.
        let step = JSON.parse(exchange.next());
        for (;;) {
          if (step.response) return toResponse({ ...step.response, body: exchange.responseBody() });
          if (step.loadClient !== undefined) {
            const record = checkRecord(await this.#call(this.clientStore, 'clientStore', 'get', step.loadClient));
            step = JSON.parse(exchange.clientLoaded(record));
          } else if (step.verify) {
            // WebCrypto where the runtime has the algorithm, else the core's primitives.
            const valid = await webcrypto.verify(step.verify);
            step = JSON.parse(valid === undefined ? exchange.checkSignatureBuiltin() : exchange.signatureChecked(valid));
          } else if (step.replay) {
            let fresh;
            try {
              fresh = await this.#call(this.replayStore, 'replayStore', 'insertIfAbsent', step.replay.key, step.replay.expiresAt);
            } catch (e) {
              if (!(e instanceof StoreUnavailable)) throw e;
              // The core's answer for a replay store that did not answer (503, a new assertion).
              this.#report(e);
              step = JSON.parse(exchange.replayUnavailable());
              continue;
            }
            if (typeof fresh !== 'boolean') throw new TypeError('replayStore.insertIfAbsent must resolve to a boolean');
            step = JSON.parse(exchange.replayRecorded(fresh));
          } else if (step.sign) {
            const signature = await webcrypto.sign(step.sign.alg, this.#signingKeyOf(step.sign.kid), exchange.signingInput());
            step = JSON.parse(signature === undefined ? exchange.signBuiltin() : exchange.signed(signature));
          } else {
            throw new Error('unexpected step from the core');
          }
        }
      } finally {
        exchange.free();
      }
    }

    /** Applies a registration answer's store change, then responds. */
    async #store(out) {
      if (out.put) await this.#call(this.clientStore, 'clientStore', 'put', out.put.clientId, out.put.record);
      else if (out.delete !== undefined) await this.#call(this.clientStore, 'clientStore', 'delete', out.delete);
      return toResponse(out.response);
    }

    async #register(request) {
      const body = await readBody(request, this.#maxBodyBytes);
      const now = checkNow(this.#now());
      return this.#store(JSON.parse(this.#server.register(optionalHeader(request, 'authorization'), body, now)));
    }

    async #client(request, clientId, method) {
      const body = method === 'PUT' ? await readBody(request, this.#maxBodyBytes) : new Uint8Array(0);
      const record = checkRecord(await this.#call(this.clientStore, 'clientStore', 'get', clientId));
      return this.#store(
        JSON.parse(this.#server.manageClient(clientId, method, record, optionalHeader(request, 'authorization'), body)),
      );
    }

    /**
     * Changes the operator's settings of a client in `clientStore`: `disabled` (a disabled
     * client gets `invalid_client`, as for a wrong secret), `introspection`, `claims`,
     * `tokenTtl` (seconds). Resolves to false when the store has no such client; a change the
     * configuration does not allow throws, naming the field. Store failures throw
     * `StoreUnavailable`.
     * @param {string} clientId
     * @param {{disabled?: boolean, introspection?: boolean, claims?: object, tokenTtl?: number}} changes
     * @returns {Promise<boolean>}
     */
    async updateClient(clientId, changes) {
      const { disabled, introspection, claims, tokenTtl, ...rest } = changes ?? {};
      const unknown = Object.keys(rest);
      if (unknown.length > 0) throw new TypeError(`updateClient: unknown setting ${unknown[0]}`);
      const record = checkRecord(await this.#call(this.clientStore, 'clientStore', 'get', clientId));
      if (record === undefined) return false;
      const changed = wasmCall(() =>
        this.#server.changeClient(record, JSON.stringify({ disabled, introspection, claims, token_ttl: tokenTtl })),
      );
      await this.#call(this.clientStore, 'clientStore', 'put', clientId, changed);
      return true;
    }

    /** Releases the wasm memory now (otherwise the garbage collector does). */
    free() {
      this.#server.free();
    }
  };
}
